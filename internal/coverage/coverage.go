// Package coverage tells what in a cluster is not backed up (seed 002). It
// gives every PersistentVolumeClaim a state — protected, stale, unprotected
// or excluded — with a reason a person can act on, and judges every
// BackupDefinition against its schedule.
//
// Compute is pure: it reads an Input (claims with their labels and
// annotations, definitions with their schedule and newest backups, storages'
// allowedNamespaces, namespace labels, the time) and returns a Report. The
// controller gathers the input from the API server and publishes the report
// as metrics, Events and JSON (Store, Collector, Handler); schedule
// semantics come from internal/scheduler, never from here.
package coverage

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Annotations a claim's owner sets to say it is deliberately not backed up
// by Coffer. coffer.dev/backup is "skip" (with a reason) or "external" (with
// the method, e.g. "CNPG barman to s3://..."); without the second annotation
// the claim stays unprotected, so an exclusion always says why.
const (
	AnnotationBackup = "coffer.dev/backup"
	AnnotationReason = "coffer.dev/backup-reason"
	AnnotationMethod = "coffer.dev/backup-method"

	BackupSkip     = "skip"
	BackupExternal = "external"
)

// State is a claim's coverage state.
type State string

// The four states, best first.
const (
	// Protected: a definition backs the claim up or covers it, and its
	// newest Completed backup is recent enough for its schedule.
	Protected State = "protected"
	// Stale: covered, but the newest Completed backup is too old, or the
	// covering definitions are suspended, failing or not ready.
	Stale State = "stale"
	// Unprotected: nothing covers it (or what does may not run: its storage
	// is missing or does not admit the namespace).
	Unprotected State = "unprotected"
	// Excluded: its owner annotated it skip (with a reason) or external
	// (with the method).
	Excluded State = "excluded"
)

// States lists every state, in a fixed order (metrics emit all of them).
var States = []State{Protected, Stale, Unprotected, Excluded}

// Claim is a PersistentVolumeClaim as coverage needs it: metadata only.
type Claim struct {
	Namespace   string
	Name        string
	Labels      map[string]string
	Annotations map[string]string
}

// Definition is a BackupDefinition as coverage needs it (see FromAPI).
type Definition struct {
	Namespace string
	Name      string
	// Storage is the name of its BackupStorage.
	Storage string
	// Schedule and TimeZone as in the spec; Schedule may be empty.
	Schedule string
	TimeZone string
	Suspend  bool
	// StaleAfter is spec.coverage.staleAfter; zero derives it from the
	// schedule and DrainTimeout.
	StaleAfter   time.Duration
	DrainTimeout time.Duration
	// Created is when the definition was created: the reference time
	// until its first backup completes.
	Created time.Time
	// LastSuccess is the start of its newest Completed backup; zero if none.
	LastSuccess time.Time
	// LastFailed says its newest finished backup Failed, with LastError.
	LastFailed bool
	LastError  string
	// NotReady is why the controller renders no working runner for it
	// (its Ready condition is False), or empty.
	NotReady string
	// RunnerReachable is the RunnerReachable condition; nil when unknown.
	RunnerReachable *bool
	// Claims it names: filesystem targets' persistentVolumeClaim and
	// targets' covers.persistentVolumeClaims.
	Claims []string
	// Selectors are targets' covers.selector.
	Selectors []*metav1.LabelSelector
}

// Storage is a BackupStorage as coverage needs it.
type Storage struct {
	// AllowedNamespaces as in the spec; nil admits only the operator
	// namespace.
	AllowedNamespaces *metav1.LabelSelector
}

// Input is everything Compute reads.
type Input struct {
	Now               time.Time
	OperatorNamespace string
	// NamespaceLabels of every namespace holding a definition.
	NamespaceLabels map[string]map[string]string
	// Storages by name; a name missing here does not exist.
	Storages    map[string]Storage
	Definitions []Definition
	Claims      []Claim
}

// Report is the coverage of the claims and definitions of an Input.
type Report struct {
	GeneratedAt time.Time          `json:"generatedAt"`
	Totals      map[State]int      `json:"totals"`
	Claims      []ClaimReport      `json:"persistentVolumeClaims"`
	Definitions []DefinitionReport `json:"definitions"`
	// NextChange is the earliest future moment a state changes by time
	// alone (a definition going stale); zero if none.
	NextChange time.Time `json:"-"`
}

// ClaimReport is one claim's state.
type ClaimReport struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	State     State  `json:"state"`
	Reason    string `json:"reason"`
	// Definitions that name or select it, sorted.
	Definitions []string `json:"definitions,omitempty"`
	// Method of an external backup (coffer.dev/backup-method).
	Method string `json:"method,omitempty"`
}

// DefinitionReport is one definition's verdict.
type DefinitionReport struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Protecting: its claims are protected (it is fresh, not suspended,
	// not failing, may run).
	Protecting bool   `json:"protecting"`
	Reason     string `json:"reason"`
	// LastSuccess is the start of the newest Completed backup.
	LastSuccess *time.Time `json:"lastSuccess,omitempty"`
	// NextRun is the next scheduled backup (none when suspended).
	NextRun *time.Time `json:"nextRun,omitempty"`
	// StaleAt is when it goes stale unless a backup completes first.
	StaleAt *time.Time `json:"staleAt,omitempty"`
	// Stale: StaleAt has passed (time alone, whatever else holds).
	Stale     bool `json:"stale"`
	Failing   bool `json:"failing"`
	Suspended bool `json:"suspended"`
	// Blocked: it may not run at all (storage missing or not admitting
	// the namespace); the claims it covers are unprotected.
	Blocked         bool  `json:"blocked"`
	RunnerReachable *bool `json:"runnerReachable,omitempty"`
	CoveredPVCs     int   `json:"coveredPVCs"`
	ProtectedPVCs   int   `json:"protectedPVCs"`
}
