package kubernetes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// fieldManager owns what a restore applies over existing objects.
const fieldManager = "coffer-restore"

// establishTimeout bounds the wait for a created CRD to be served.
const establishTimeout = time.Minute

// apply restores one object: create it, or deal with the existing one.
func (rs *restorer) apply(ctx context.Context, ent entry, obj object, res *ItemResult) (Action, string) {
	r, err := resourceOf(ent, obj)
	if err != nil {
		return ActionFailed, err.Error()
	}
	if rs.pendingCRDs[ent.resource] {
		return ActionCreated, notChecked + "its CustomResourceDefinition is created by this restore"
	}
	if r.Namespaced {
		state, err := rs.ensureNamespace(ctx, res.Namespace)
		if err != nil {
			return ActionFailed, "namespace " + res.Namespace + ": " + shortReason(err)
		}
		if state == nsWouldCreate {
			return ActionCreated, notChecked + "namespace " + res.Namespace + " is created by this restore"
		}
	}
	oldUID := str(metadata(obj), "uid")
	rs.prepare(r, obj, res)
	body, err := json.Marshal(obj)
	if err != nil {
		return ActionFailed, err.Error()
	}
	created, err := rs.write(ctx, rs.post(r, res.Namespace), body)
	switch {
	case err == nil:
		rs.restored(r, res, oldUID, created, true)
		if r.String() == crdResource.String() && !rs.opts.DryRun {
			if err := rs.waitEstablished(ctx, res.Name); err != nil {
				return ActionFailed, err.Error()
			}
		}
		return ActionCreated, ""
	case apierrors.IsAlreadyExists(err):
		return rs.existing(ctx, r, res, oldUID, body)
	case apierrors.IsForbidden(err):
		// The API server authorizes before it looks: an identity that may
		// not create an object that exists (a tenant's runner and its own
		// Namespace) is told Forbidden, not AlreadyExists.
		if live, gerr := rs.l.get(ctx, r, res.Namespace, res.Name); gerr == nil && live != nil {
			return rs.existing(ctx, r, res, oldUID, body)
		}
		return ActionFailed, shortReason(err)
	default:
		return ActionFailed, shortReason(err)
	}
}

// existing handles an object that is already there: skip it, or apply the
// backed-up object over it.
func (rs *restorer) existing(ctx context.Context, r Resource, res *ItemResult, oldUID string, body []byte) (Action, string) {
	live, err := rs.l.get(ctx, r, res.Namespace, res.Name)
	if err != nil || live == nil {
		return ActionFailed, fmt.Sprintf("exists, but cannot be read: %v", err)
	}
	rs.restored(r, res, oldUID, live, false)
	if rs.opts.ExistingResources == existingSkip {
		return ActionSkipped, "exists"
	}
	req := rs.rc.Patch(types.ApplyPatchType).AbsPath(resourcePath(r, res.Namespace, res.Name)).
		Param("fieldManager", fieldManager).Param("force", "true")
	after, err := rs.write(ctx, req, body)
	if err != nil {
		return ActionFailed, "exists, and applying over it failed: " + shortReason(err)
	}
	if reflect.DeepEqual(comparable(live), comparable(after)) {
		return ActionUnchanged, "exists, as backed up"
	}
	return ActionUpdated, "exists: applied over it"
}

// post is a create of an object of r in ns.
func (rs *restorer) post(r Resource, ns string) *rest.Request {
	return rs.rc.Post().AbsPath(resourcePath(r, ns, "")).SetHeader("Content-Type", "application/json")
}

// write sends a create or apply, as a dry run when asked.
func (rs *restorer) write(ctx context.Context, req *rest.Request, body []byte) (object, error) {
	if rs.opts.DryRun {
		req = req.Param("dryRun", "All")
	}
	result := req.Body(body).Do(ctx)
	if err := result.Error(); err != nil { // Raw's error would not be the server's Status
		return nil, err
	}
	raw, _ := result.Raw()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out object
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("reading the server's answer: %w", err)
	}
	return out, nil
}

// restored notes an object that now exists (or, created in a dry run,
// would): its uid for owner references, and what later objects need.
func (rs *restorer) restored(r Resource, res *ItemResult, oldUID string, now object, created bool) {
	if uid := str(metadata(now), "uid"); oldUID != "" && uid != "" {
		rs.uids[oldUID] = uid
	}
	switch r.String() {
	case namespacesResource.String():
		rs.namespaces[res.Name] = nsExists
		if rs.opts.DryRun && created {
			rs.namespaces[res.Name] = nsWouldCreate
		}
	case "persistentvolumes":
		rs.volumes[res.Name] = true
	case crdResource.String():
		if rs.opts.DryRun && created {
			rs.pendingCRDs[crdServes(now)] = true
		}
	}
}

// crdServes is the resource a CRD serves: "<plural>.<group>".
func crdServes(crd object) string {
	spec, _ := crd["spec"].(map[string]any)
	names, _ := spec["names"].(map[string]any)
	return str(names, "plural") + "." + str(spec, "group")
}

// ensureNamespace makes sure the destination namespace exists, creating it
// when the backup did not hold it. A runner that may not read namespaces
// goes on: the object's own creation will tell.
func (rs *restorer) ensureNamespace(ctx context.Context, ns string) (nsState, error) {
	if st, ok := rs.namespaces[ns]; ok {
		return st, nil
	}
	live, err := rs.l.get(ctx, namespacesResource, "", ns)
	switch {
	case apierrors.IsForbidden(err):
		rs.namespaces[ns] = nsExists
		return nsExists, nil
	case err != nil:
		return nsUnknown, err
	case live != nil:
		rs.namespaces[ns] = nsExists
		return nsExists, nil
	}
	res := ItemResult{Resource: namespacesResource.String(), Name: ns, Action: ActionCreated,
		Reason: "not in the backup: created for the objects restored into it"}
	if rs.opts.DryRun {
		rs.namespaces[ns] = nsWouldCreate
		rs.report.add(res)
		return nsWouldCreate, nil
	}
	body, _ := json.Marshal(object{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}})
	if _, err := rs.write(ctx, rs.post(namespacesResource, ""), body); err != nil && !apierrors.IsAlreadyExists(err) {
		return nsUnknown, err
	}
	rs.report.add(res)
	rs.namespaces[ns] = nsExists
	return nsExists, nil
}

// waitEstablished waits until a created CRD's resource is served.
func (rs *restorer) waitEstablished(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, establishTimeout)
	defer cancel()
	for {
		crd, err := rs.l.get(ctx, crdResource, "", name)
		if err == nil && crd != nil && established(crd) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("created, but not Established within %v", establishTimeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func established(crd object) bool {
	status, _ := crd["status"].(map[string]any)
	conds, _ := status["conditions"].([]any)
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if str(m, "type") == "Established" && str(m, "status") == "True" {
			return true
		}
	}
	return false
}

// resourceOf is the entry's resource at the object's version; the object
// must be the one its path names.
func resourceOf(ent entry, obj object) (Resource, error) {
	name, group := ent.split()
	gv, err := schema.ParseGroupVersion(str(obj, "apiVersion"))
	if err != nil || gv.Group != group || gv.Version == "" {
		return Resource{}, fmt.Errorf("apiVersion %q does not belong to resource %s", str(obj, "apiVersion"), ent.resource)
	}
	md := metadata(obj)
	if str(md, "name") != ent.name || (ent.namespaced && str(md, "namespace") != ent.namespace) {
		return Resource{}, fmt.Errorf("the object is %s, not the %s its path names", key(str(md, "namespace"), str(md, "name")), key(ent.namespace, ent.name))
	}
	return Resource{Group: group, Version: gv.Version, Name: name, Kind: str(obj, "kind"), Namespaced: ent.namespaced}, nil
}

// comparable is an object without what every write changes.
func comparable(obj object) object {
	out := object{}
	for k, v := range obj {
		out[k] = v
	}
	md := map[string]any{}
	for k, v := range metadata(obj) {
		md[k] = v
	}
	for _, k := range []string{"managedFields", "resourceVersion", "generation"} {
		delete(md, k)
	}
	out["metadata"] = md
	return out
}
