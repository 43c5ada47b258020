package kubernetes

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// priority is the order resources are backed up in, and so restored in:
// what others refer to before what refers to it, owners before what they
// own. CRDs come first (their objects need them established), then
// namespaces; resources not named here follow in name order, and last
// come those that would intercept or redirect the API server's work
// (admission webhooks, aggregated APIs) if they were restored before the
// workloads that serve them run.
var priority = []string{
	"customresourcedefinitions.apiextensions.k8s.io",
	"namespaces",
	"storageclasses.storage.k8s.io",
	"volumesnapshotclasses.snapshot.storage.k8s.io",
	"volumesnapshotcontents.snapshot.storage.k8s.io",
	"volumesnapshots.snapshot.storage.k8s.io",
	"persistentvolumes",
	"persistentvolumeclaims",
	"serviceaccounts",
	"clusterroles.rbac.authorization.k8s.io",
	"roles.rbac.authorization.k8s.io",
	"clusterrolebindings.rbac.authorization.k8s.io",
	"rolebindings.rbac.authorization.k8s.io",
	"secrets",
	"configmaps",
	"limitranges",
	"resourcequotas",
	"priorityclasses.scheduling.k8s.io",
	"services",
	"deployments.apps",
	"statefulsets.apps",
	"daemonsets.apps",
	"cronjobs.batch",
	"replicasets.apps",
	"jobs.batch",
	"controllerrevisions.apps",
	"replicationcontrollers",
	"pods",
}

// last are restored after everything else.
var last = []string{
	"apiservices.apiregistration.k8s.io",
	"mutatingwebhookconfigurations.admissionregistration.k8s.io",
	"validatingwebhookconfigurations.admissionregistration.k8s.io",
	"validatingadmissionpolicies.admissionregistration.k8s.io",
	"validatingadmissionpolicybindings.admissionregistration.k8s.io",
}

// sortByPriority orders resources as the backup writes them.
func sortByPriority(rs []Resource) {
	rankOf := func(r Resource) int {
		if i := slices.Index(priority, r.String()); i >= 0 {
			return i
		}
		if i := slices.Index(last, r.String()); i >= 0 {
			return len(priority) + 1 + i
		}
		return len(priority)
	}
	sort.SliceStable(rs, func(i, j int) bool {
		ri, rj := rankOf(rs[i]), rankOf(rs[j])
		if ri != rj {
			return ri < rj
		}
		return rs[i].String() < rs[j].String()
	})
}

// discovered is what the API server serves: every resource that can be
// listed and read, at its preferred version, and the API groups that could
// not be asked (an aggregated API whose server is down).
type discovered struct {
	resources     []Resource
	readOnly      []Resource // listed, but cannot be created: nothing to restore
	failedGroups  map[string]string
	serverVersion string
}

func discover(dc discovery.DiscoveryInterface) (discovered, error) {
	var d discovered
	v, err := dc.ServerVersion()
	if err != nil {
		return d, fmt.Errorf("asking the API server's version: %w", err)
	}
	d.serverVersion = v.GitVersion
	lists, err := dc.ServerPreferredResources()
	var partial *discovery.ErrGroupDiscoveryFailed
	switch {
	case errors.As(err, &partial):
		d.failedGroups = map[string]string{}
		for gv, gerr := range partial.Groups {
			d.failedGroups[gv.String()] = gerr.Error()
		}
	case err != nil:
		return d, fmt.Errorf("discovering the API server's resources: %w", err)
	}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, ar := range list.APIResources {
			if strings.Contains(ar.Name, "/") || !hasVerbs(ar, "list", "get") {
				continue
			}
			r := Resource{Group: gv.Group, Version: gv.Version, Name: ar.Name, Kind: ar.Kind, Namespaced: ar.Namespaced}
			if !hasVerbs(ar, "create") {
				d.readOnly = append(d.readOnly, r)
				continue
			}
			d.resources = append(d.resources, r)
		}
	}
	sortByPriority(d.resources)
	return d, nil
}

func hasVerbs(ar metav1.APIResource, verbs ...string) bool {
	for _, v := range verbs {
		if !slices.Contains(ar.Verbs, v) {
			return false
		}
	}
	return true
}
