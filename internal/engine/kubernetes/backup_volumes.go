package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"sort"
)

// Claims bring their volumes. With cluster resources included, a backed-up
// PersistentVolumeClaim brings the PersistentVolume it is bound to, even
// when the resource filters leave persistentvolumes out or the label
// selector does not select the volume: a claim restored without its volume
// binds to a new, empty one (or none), and for a statically provisioned
// volume (NFS, hostPath, a cloud disk by id) the volume object is the only
// record of where the data is. Without includeClusterResources no volume
// is backed up: a tenant's runner may not read them.
var (
	claimsResource  = "persistentvolumeclaims"
	volumesResource = "persistentvolumes"
)

// findClaimedVolumes lists the claims the backup will hold and records
// the volumes they are bound to. Only names are held, never bodies.
func (b *backup) findClaimedVolumes(ctx context.Context, plan []Resource) error {
	if !b.spec.IncludeClusterResources {
		return nil
	}
	var claims *Resource
	for i := range plan {
		if plan[i].String() == claimsResource {
			claims = &plan[i]
		}
	}
	if claims == nil {
		return nil
	}
	for _, r := range plan {
		if r.String() == volumesResource && b.selector == "" {
			return nil // every volume is backed up anyway
		}
	}
	b.claimedVolumes = map[string]bool{}
	for _, ns := range b.scopes(*claims) {
		err := b.l.each(ctx, *claims, ns, b.selector, false, func(obj object) error {
			if _, name := b.keep(*claims, obj, false); name != "" {
				spec, _ := obj["spec"].(map[string]any)
				if v := str(spec, "volumeName"); v != "" {
					b.claimedVolumes[v] = true
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("listing %s to find their volumes: %w", claimsResource, err)
		}
	}
	return nil
}

// claimedVolumesPlan puts persistentvolumes back into the plan, just
// before the claims (its place in backup order), when the filters left it
// out but claims need it. volumes is the resource as discovered.
func (b *backup) claimedVolumesPlan(plan []Resource, all []Resource) []Resource {
	if len(b.claimedVolumes) == 0 {
		return plan
	}
	for _, r := range plan {
		if r.String() == volumesResource {
			return plan // listed anyway; writeClaimedVolumes adds what the selector missed
		}
	}
	i := slices.IndexFunc(all, func(r Resource) bool { return r.String() == volumesResource })
	if i < 0 {
		return plan
	}
	b.volumesImpliedOnly = true
	b.idx.Skipped = slices.DeleteFunc(b.idx.Skipped, func(s Skipped) bool { return s.Resource == volumesResource && s.Name == "" })
	at := slices.IndexFunc(plan, func(r Resource) bool { return r.String() == claimsResource })
	return slices.Insert(plan, at, all[i])
}

// writeClaimedVolumes writes the claimed volumes not written yet, one by
// one, in name order. A volume that is gone is left out.
func (b *backup) writeClaimedVolumes(ctx context.Context, r Resource, written map[string]bool) error {
	names := make([]string, 0, len(b.claimedVolumes))
	for n := range b.claimedVolumes {
		if !written[key("", n)] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		obj, err := b.l.get(ctx, r, "", n)
		if err != nil {
			return fmt.Errorf("reading the volume %s of a backed-up claim: %w", n, err)
		}
		if obj == nil {
			continue
		}
		if err := b.write(r, obj); err != nil {
			return err
		}
		written[key("", n)] = true
	}
	return nil
}
