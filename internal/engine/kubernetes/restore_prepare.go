package kubernetes

import "strings"

// serverSet are metadata fields the API server sets: a restored object
// gets its own.
var serverSet = []string{"uid", "resourceVersion", "creationTimestamp", "generation", "selfLink",
	"managedFields", "deletionTimestamp", "deletionGracePeriodSeconds"}

// unbound are PVC annotations about a binding the restore does not keep.
var unbound = []string{"pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller", "volume.kubernetes.io/selected-node"}

// prepare turns a backed-up object into one to create at its destination:
// server-set fields and status go, the namespace is mapped, owner
// references follow their owners' new uids or go, and what would tie the
// object to the old cluster (a Service's cluster IP, a claim's volume, a
// pod's node) is cleared.
func (rs *restorer) prepare(r Resource, obj object, res *ItemResult) {
	md := metadata(obj)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	for _, f := range serverSet {
		delete(md, f)
	}
	delete(obj, "status")
	md["name"] = res.Name
	if r.Namespaced {
		md["namespace"] = res.Namespace
	} else {
		delete(md, "namespace")
	}
	rs.ownerReferences(md)
	switch r.String() {
	case "services":
		clearClusterIP(obj)
	case "persistentvolumeclaims":
		rs.unbindClaim(obj, md)
	case "persistentvolumes":
		rs.mapClaimRef(obj)
	case "pods":
		unschedulePod(obj)
	case "jobs.batch":
		dropJobSelector(obj)
	case "rolebindings.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io":
		rs.mapSubjects(obj)
	}
}

// ownerReferences keeps references to owners this restore restored or
// found, with their uid now, and drops the others: the garbage collector
// would delete an object whose owner's uid does not exist.
func (rs *restorer) ownerReferences(md map[string]any) {
	refs, _ := md["ownerReferences"].([]any)
	var kept []any
	for _, ref := range refs {
		m, _ := ref.(map[string]any)
		if uid, ok := rs.uids[str(m, "uid")]; ok {
			m["uid"] = uid
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		delete(md, "ownerReferences")
		return
	}
	md["ownerReferences"] = kept
}

func spec(obj object) map[string]any {
	s, _ := obj["spec"].(map[string]any)
	return s
}

// clearClusterIP: the cluster allocates a new IP (a headless Service
// keeps "None").
func clearClusterIP(obj object) {
	s := spec(obj)
	if s == nil || str(s, "clusterIP") == "None" {
		return
	}
	delete(s, "clusterIP")
	delete(s, "clusterIPs")
}

// unbindClaim: a claim keeps its volume only when the volume was restored
// too; otherwise it is provisioned or bound anew.
func (rs *restorer) unbindClaim(obj object, md map[string]any) {
	s := spec(obj)
	if s == nil || rs.volumes[str(s, "volumeName")] {
		return
	}
	delete(s, "volumeName")
	ann, _ := md["annotations"].(map[string]any)
	for _, a := range unbound {
		delete(ann, a)
	}
}

// mapClaimRef: a volume's claim moves with its namespace, and is
// referred to by name only (its uid is new).
func (rs *restorer) mapClaimRef(obj object) {
	ref, _ := spec(obj)["claimRef"].(map[string]any)
	if ref == nil {
		return
	}
	delete(ref, "uid")
	delete(ref, "resourceVersion")
	if ns := str(ref, "namespace"); ns != "" {
		ref["namespace"] = rs.mapNS(ns)
	}
}

// unschedulePod: the scheduler picks a node again, and the ServiceAccount
// token volume the API server injected is injected anew.
func unschedulePod(obj object) {
	s := spec(obj)
	if s == nil {
		return
	}
	delete(s, "nodeName")
	var injected []string
	var vols []any
	for _, v := range list(s, "volumes") {
		name := str(v.(map[string]any), "name")
		if strings.HasPrefix(name, "kube-api-access-") {
			injected = append(injected, name)
			continue
		}
		vols = append(vols, v)
	}
	if len(injected) == 0 {
		return
	}
	s["volumes"] = vols
	for _, field := range []string{"containers", "initContainers", "ephemeralContainers"} {
		for _, c := range list(s, field) {
			cm := c.(map[string]any)
			var mounts []any
			for _, m := range list(cm, "volumeMounts") {
				if !contains(injected, str(m.(map[string]any), "name")) {
					mounts = append(mounts, m)
				}
			}
			cm["volumeMounts"] = mounts
		}
	}
}

// dropJobSelector: a Job's generated selector and labels name its old uid.
func dropJobSelector(obj object) {
	s := spec(obj)
	if s == nil || s["manualSelector"] == true {
		return
	}
	delete(s, "selector")
	tmpl, _ := s["template"].(map[string]any)
	labels, _ := metadata(tmpl)["labels"].(map[string]any)
	for _, l := range []string{"controller-uid", "batch.kubernetes.io/controller-uid"} {
		delete(labels, l)
	}
}

// mapSubjects: ServiceAccounts bound follow their namespace's mapping.
func (rs *restorer) mapSubjects(obj object) {
	for _, s := range list(obj, "subjects") {
		m := s.(map[string]any)
		if str(m, "kind") == "ServiceAccount" && str(m, "namespace") != "" {
			m["namespace"] = rs.mapNS(str(m, "namespace"))
		}
	}
}

// list returns m[k] as a list of objects, skipping what is not one.
func list(m map[string]any, k string) []any {
	l, _ := m[k].([]any)
	var out []any
	for _, v := range l {
		if _, ok := v.(map[string]any); ok {
			out = append(out, v)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}
