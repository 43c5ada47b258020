package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
)

// VerifySpec schedules re-reads of stored backups: every object is
// downloaded, decrypted and decompressed and its sizes and checksums are
// checked against the manifest, so bit rot and missing objects are found
// before a restore needs them. Newest and Budget exclude each other;
// neither means newest: 1.
// +kubebuilder:validation:XValidation:rule="!(has(self.newest) && has(self.budget))",message="newest and budget exclude each other"
type VerifySpec struct {
	// Schedule is a five-field cron expression, in the definition's time zone.
	Schedule string `json:"schedule"`
	// Newest verifies the newest N backups on every run.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Newest int `json:"newest,omitempty"`
	// Budget verifies every backup in turn, rotating: each run continues
	// where the last one stopped and reads backups until their stored
	// bytes would exceed the budget (at least one backup a run), e.g. 50Gi.
	// +optional
	Budget *resource.Quantity `json:"budget,omitempty"`
	// Offsite verifies the offsite copy too, with the same selection.
	// +optional
	Offsite bool `json:"offsite,omitempty"`
}

// RestoreTestSpec schedules restore tests: the newest backup of each
// database target is restored into a scratch database (named
// coffer_rt_..., recorded in storage before it is created), the checks
// run against it, the result and the restore's duration are recorded, and
// the scratch database is always dropped. A filesystem (volume) target is
// restored into a scratch directory whose counts of files, directories,
// symbolic links and bytes must equal those its backup recorded, and the
// directory is always removed; a kubernetes target is restored as a
// server-side dry run whose per-object results must account for every
// object the backup's index lists.
type RestoreTestSpec struct {
	// Schedule is a five-field cron expression, in the definition's time zone.
	Schedule string `json:"schedule"`
	// Targets are the targets to test, each with its server and checks.
	// Empty tests every postgres and mysql target on its own server with
	// no checks beyond a complete restore; filesystem and kubernetes
	// targets are tested only when listed.
	// +listType=map
	// +listMapKey=name
	// +optional
	Targets []RestoreTestTarget `json:"targets,omitempty"`
}

// RestoreTestTarget is one target's restore test.
type RestoreTestTarget struct {
	// Name of a postgres, mysql, filesystem or kubernetes target of the
	// definition.
	Name string `json:"name"`
	// Server is where the scratch database is created; the target's own
	// server and credentials when unset (postgres and mysql only).
	// +optional
	Server *ScratchServer `json:"server,omitempty"`
	// ScratchDirectory is the existing directory in which a filesystem
	// target's scratch directory (coffer_rt_...) is created; the runner's
	// temporary directory when unset (filesystem only). It needs room
	// for the whole restored tree.
	// +optional
	ScratchDirectory string `json:"scratchDirectory,omitempty"`
	// Checks are SQL statements run in the scratch database, each of which
	// must return one row whose first column is true, e.g.
	// "select count(*) > 1000 from orders". They run in a read-only
	// transaction (postgres and mysql only).
	// +optional
	Checks []string `json:"checks,omitempty"`
}

// ScratchServer is a database server for restore tests, with its own
// credentials. The user needs the right to create and drop databases.
type ScratchServer struct {
	Host string `json:"host"`
	// +optional
	Port int    `json:"port,omitempty"`
	User string `json:"user"`
	// +optional
	PasswordSecretRef *SecretKeySelector `json:"passwordSecretRef,omitempty"`
	// SSLMode as libpq understands it (postgres only).
	// +optional
	SSLMode string `json:"sslMode,omitempty"`
}

// SecretRefs lists the restore test's Secret references (in the
// definition's namespace), as pointers so a renderer can rename them.
func (s *RestoreTestSpec) SecretRefs() []*SecretKeySelector {
	if s == nil {
		return nil
	}
	var refs []*SecretKeySelector
	for i := range s.Targets {
		if srv := s.Targets[i].Server; srv != nil && srv.PasswordSecretRef != nil {
			refs = append(refs, srv.PasswordSecretRef)
		}
	}
	return refs
}
