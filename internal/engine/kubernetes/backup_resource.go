package kubernetes

import (
	"context"
	"fmt"
	"sort"
)

// resource backs up every selected object of r: first those that
// orderedResources names, in the order of the first entry each matches,
// then the rest in the API server's order. Only the ordered objects' keys
// are held in memory; bodies go to the tar one by one as they arrive.
func (b *backup) resource(ctx context.Context, r Resource) error {
	b.idx.Resources = append(b.idx.Resources, indexResource(r))
	written := map[string]bool{}
	if entries := b.order.For(r); len(entries) > 0 {
		if err := b.ordered(ctx, r, entries, written); err != nil {
			return b.failed(r, err)
		}
	}
	if r.String() == namespacesResource.String() && !b.allNS {
		return b.failed(r, b.namespaceObjects(ctx, written))
	}
	volumes := r.String() == volumesResource && b.claimedVolumes != nil
	if volumes && b.volumesImpliedOnly {
		return b.failed(r, b.writeClaimedVolumes(ctx, r, written))
	}
	for _, ns := range b.scopes(r) {
		err := b.l.each(ctx, r, ns, b.selectorFor(r), false, func(obj object) error {
			ns, name := b.keep(r, obj, true)
			if name == "" || written[key(ns, name)] {
				return nil
			}
			if volumes {
				written[key(ns, name)] = true
			}
			return b.write(r, obj)
		})
		if err != nil {
			return b.failed(r, err)
		}
	}
	if volumes {
		return b.failed(r, b.writeClaimedVolumes(ctx, r, written))
	}
	return nil
}

// failed turns a resource's listing error into a skip or an error; the
// resource leaves the index's included list when skipped.
func (b *backup) failed(r Resource, err error) error {
	if err == nil {
		return nil
	}
	if _, writing := err.(errWriting); writing || ctxDone(err) {
		return err
	}
	last := &b.idx.Resources[len(b.idx.Resources)-1]
	if last.Objects > 0 {
		return fmt.Errorf("listing %s after %d objects: %w", r, last.Objects, err)
	}
	b.idx.Resources = b.idx.Resources[:len(b.idx.Resources)-1]
	return b.listFailed(r, err)
}

// selectorFor is the label selector for r's list: the Namespace objects
// of the included namespaces are kept whatever their labels.
func (b *backup) selectorFor(r Resource) string {
	if r.String() == namespacesResource.String() {
		return ""
	}
	return b.selector
}

// scopes are the namespaces to list r in; "" lists across the cluster
// (a cluster-scoped resource, or every namespace included).
func (b *backup) scopes(r Resource) []string {
	if !r.Namespaced || b.allNS {
		return []string{""}
	}
	return b.namespaces
}

// namespaceObjects backs up the named namespaces one by one: they were
// not listed. A runner bound in one namespace may not read it: that is
// recorded, and the backup goes on.
func (b *backup) namespaceObjects(ctx context.Context, written map[string]bool) error {
	for _, ns := range b.namespaces {
		if written[ns] {
			continue
		}
		obj, err := b.l.get(ctx, namespacesResource, "", ns)
		if err != nil {
			if ctxDone(err) {
				return err
			}
			b.skip(Skipped{Resource: namespacesResource.String(), Name: ns, Reason: "cannot be read: " + shortReason(err)})
			continue
		}
		if obj == nil {
			b.skip(Skipped{Resource: namespacesResource.String(), Name: ns, Reason: "does not exist"})
			continue
		}
		if err := b.write(namespacesResource, obj); err != nil {
			return err
		}
	}
	return nil
}

// ranked is an object orderedResources names.
type ranked struct {
	rank, seq int
	ns, name  string
}

// ordered writes the objects of r that the entries match, in entry order.
// Their keys come from a metadata-only listing; each body is read just
// before it is written.
func (b *backup) ordered(ctx context.Context, r Resource, entries []OrderEntry, written map[string]bool) error {
	var found []ranked
	for _, ns := range b.scopes(r) {
		err := b.l.each(ctx, r, ns, b.selectorFor(r), true, func(obj object) error {
			ns, name := b.keep(r, obj, false)
			if name == "" {
				return nil
			}
			if rk := rank(entries, key(ns, name)); rk >= 0 {
				found = append(found, ranked{rank: rk, seq: len(found), ns: ns, name: name})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].rank < found[j].rank })
	for _, o := range found {
		obj, err := b.l.get(ctx, r, o.ns, o.name)
		if err != nil {
			return err
		}
		if obj == nil { // deleted since it was listed
			continue
		}
		if err := b.write(r, obj); err != nil {
			return err
		}
		written[key(o.ns, o.name)] = true
	}
	return nil
}

// keep returns the object's namespace and name, or an empty name when the
// object is left out. With record, an object left out for a reason the
// user may want to know is recorded in the index (once: the listing of
// ordered keys does not record).
func (b *backup) keep(r Resource, obj object, record bool) (string, string) {
	md := metadata(obj)
	ns, name := str(md, "namespace"), str(md, "name")
	switch {
	case name == "":
		return "", ""
	case r.Namespaced && !b.f.namespace(ns):
		return "", ""
	case r.String() == namespacesResource.String() && !b.f.namespace(name):
		return "", ""
	}
	if r.String() == "pods" && !b.spec.IncludeOwnedPods {
		if owner := controllerOf(md); owner != "" {
			if record {
				b.skip(Skipped{Resource: r.String(), Namespace: ns, Name: name, Reason: "owned by " + owner + " (includeOwnedPods)"})
			}
			return "", ""
		}
	}
	return ns, name
}

// controllerOf names the object's controlling owner, if any: "ReplicaSet web-7d9f".
func controllerOf(md map[string]any) string {
	refs, _ := md["ownerReferences"].([]any)
	for _, ref := range refs {
		m, _ := ref.(map[string]any)
		if c, _ := m["controller"].(bool); c {
			return str(m, "kind") + " " + str(m, "name")
		}
	}
	return ""
}

// write puts one object into the tar, without its managedFields.
func (b *backup) write(r Resource, obj object) error {
	md := metadata(obj)
	delete(md, "managedFields")
	ns, name := str(md, "namespace"), str(md, "name")
	if !r.Namespaced {
		ns = ""
	}
	if _, err := writeJSON(b.tw, entryPath(r, ns, name), b.mtime, obj); err != nil {
		return errWriting{fmt.Errorf("writing %s %s: %w", r, key(ns, name), err)}
	}
	b.idx.Resources[len(b.idx.Resources)-1].Objects++
	return nil
}

// errWriting wraps a failure of the backup's writer, which ends the backup
// whatever resource was being read.
type errWriting struct{ err error }

func (e errWriting) Error() string { return e.err.Error() }
func (e errWriting) Unwrap() error { return e.err }
