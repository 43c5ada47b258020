package kubernetes

import (
	"path"
	"slices"
	"strings"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// Resource is one kind of object the API server serves, at the version
// it prefers.
type Resource struct {
	Group      string
	Version    string
	Name       string // plural, lower case: "deployments"
	Kind       string
	Namespaced bool
}

// String is the resource's name as users write it and as the tar names
// its directory: "pods", "deployments.apps".
func (r Resource) String() string {
	if r.Group == "" {
		return r.Name
	}
	return r.Name + "." + r.Group
}

// APIVersion is "v1" or "apps/v1".
func (r Resource) APIVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// defaultExcluded are left out unless a pattern of includedResources
// names them exactly: they describe the cluster's machinery or a moment
// of it, not what an application needs back, or they are Coffer's own
// records of backups and restores.
var defaultExcluded = map[string]bool{
	"nodes":                            true,
	"events":                           true,
	"events.events.k8s.io":             true,
	"backups.coffer.dev":               true,
	"restores.coffer.dev":              true,
	"csinodes.storage.k8s.io":          true,
	"volumeattachments.storage.k8s.io": true,
}

// matchResource: a pattern matches the full name, and a pattern without
// a dot also the bare resource name in any group.
func matchResource(pattern string, r Resource) bool {
	if ok, _ := path.Match(pattern, r.String()); ok {
		return true
	}
	if strings.Contains(pattern, ".") {
		return false
	}
	ok, _ := path.Match(pattern, r.Name)
	return ok
}

func isGlob(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// filter selects namespaces and resources by include and exclude globs.
type filter struct {
	inNS, exNS, inRes, exRes []string
	// defaults leaves defaultExcluded out unless named (backups only: a
	// restore puts back what the backup holds).
	defaults bool
}

func targetFilter(s *v1alpha1.KubernetesTarget) filter {
	return filter{inNS: s.IncludedNamespaces, exNS: s.ExcludedNamespaces, inRes: s.IncludedResources, exRes: s.ExcludedResources, defaults: true}
}

func restoreFilter(o *v1alpha1.KubernetesRestoreOptions) filter {
	if o == nil {
		return filter{}
	}
	return filter{inNS: o.IncludedNamespaces, exNS: o.ExcludedNamespaces, inRes: o.IncludedResources, exRes: o.ExcludedResources}
}

// namespace reports whether ns is selected.
func (f filter) namespace(ns string) bool {
	return (len(f.inNS) == 0 || matchAny(f.inNS, ns)) && !matchAny(f.exNS, ns)
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

// resource reports whether r is selected, and if not, why.
func (f filter) resource(r Resource) (bool, string) {
	for _, p := range f.exRes {
		if matchResource(p, r) {
			return false, "excluded by excludedResources " + p
		}
	}
	byDefault := f.defaults && defaultExcluded[r.String()]
	if len(f.inRes) == 0 {
		if byDefault {
			return false, "left out by default (name it in includedResources to back it up)"
		}
		return true, ""
	}
	named, matched := false, false
	for _, p := range f.inRes {
		if matchResource(p, r) {
			matched = true
			named = named || !isGlob(p)
		}
	}
	switch {
	case !matched:
		return false, "not in includedResources"
	case byDefault && !named:
		return false, "left out by default (name it in includedResources to back it up)"
	}
	return true, ""
}

// exactNamespaces returns the included namespaces when they are all exact
// names and nothing excludes: then no namespace needs to be listed, which a
// runner bound in one namespace could not do.
func (f filter) exactNamespaces() ([]string, bool) {
	if len(f.inNS) == 0 {
		return nil, false
	}
	for _, p := range f.inNS {
		if isGlob(p) {
			return nil, false
		}
	}
	var out []string
	for _, ns := range f.inNS {
		if f.namespace(ns) && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	// The API server's order, as when every namespace is listed.
	slices.Sort(out)
	return out, true
}

// secrets is core Secrets, as filters see it.
var secrets = Resource{Version: "v1", Name: "secrets", Kind: "Secret", Namespaced: true}

// IncludesSecrets reports whether a target's filters let Secrets in.
func IncludesSecrets(s *v1alpha1.KubernetesTarget) bool {
	ok, _ := targetFilter(s).resource(secrets)
	return ok
}
