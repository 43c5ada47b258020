// Package manifests checks config/ against a real API server: every object
// kustomize builds from config/default and config/samples must be accepted,
// the controller's RBAC must grant what it needs and no more, and the CRDs
// must reject invalid objects at admission.
package manifests

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/testutil"
)

const fieldOwner = client.FieldOwner("coffer-manifests-test")

func TestMain(m *testing.M) { testutil.EnvtestMain(m) }

// build runs kustomize on a directory under config/, as `kubectl apply -k` would.
func build(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(testutil.RepoRoot(), "config", dir))
	if err != nil {
		t.Fatalf("kustomize build config/%s: %v", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range resMap.Resources() {
		// Through JSON, not r.Map(): unstructured content holds int64, never int.
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("config/%s: %s: %v", dir, r.CurId(), err)
		}
		j, err := yaml.YAMLToJSON(y)
		if err != nil {
			t.Fatalf("config/%s: %s: %v", dir, r.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatalf("config/%s: %s: %v", dir, r.CurId(), err)
		}
		objs = append(objs, u)
	}
	if len(objs) == 0 {
		t.Fatalf("config/%s builds no objects", dir)
	}
	return objs
}

func describe(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", u.GetKind(), ns, u.GetName())
	}
	return fmt.Sprintf("%s %s", u.GetKind(), u.GetName())
}

func apply(ctx context.Context, c client.Client, u *unstructured.Unstructured, opts ...client.ApplyOption) error {
	opts = append([]client.ApplyOption{fieldOwner, client.ForceOwnership}, opts...)
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), opts...)
}

// applyForReal applies the Namespaces and CRDs among objs (everything else
// needs them) and the objects of kinds in also; it returns the rest.
func applyForReal(ctx context.Context, t *testing.T, c client.Client, objs []*unstructured.Unstructured, also ...string) []*unstructured.Unstructured {
	t.Helper()
	var rest []*unstructured.Unstructured
	for _, u := range objs {
		if k := u.GetKind(); k != "Namespace" && k != "CustomResourceDefinition" && !slices.Contains(also, k) {
			rest = append(rest, u)
			continue
		}
		if err := apply(ctx, c, u); err != nil {
			t.Fatalf("apply %s: %v", describe(u), err)
		}
	}
	return rest
}

// TestManifestsApply applies config/default and config/samples the way
// `make deploy` and `kubectl apply --server-side -k config/samples` do, dry
// run but for the namespaces and CRDs, so the API server validates every
// object against its schema and admission (including the CRDs' rules).
func TestManifestsApply(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	deploy := build(t, "default")
	samples := build(t, "samples")
	wantKinds(t, "default", deploy, "CustomResourceDefinition", "Namespace", "ServiceAccount",
		"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
	wantKinds(t, "samples", samples, "Namespace", "Secret", "BackupStorage", "BackupDefinition", "Backup", "Restore")

	objs := append(slices.Clone(deploy), samples...)
	rest := applyForReal(ctx, t, env.Client, objs)
	for _, u := range rest {
		if err := apply(ctx, env.Client, u, client.DryRunAll); err != nil {
			t.Errorf("apply %s: %v", describe(u), err)
		}
	}
	// The CRDs in config/default are the ones envtest installed from
	// config/crd/bases: all four, and established.
	for _, u := range deploy {
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(u.GroupVersionKind())
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(u), got); err != nil {
			t.Errorf("get %s: %v", describe(u), err)
		}
	}
}

func wantKinds(t *testing.T, dir string, objs []*unstructured.Unstructured, kinds ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, u := range objs {
		have[u.GetKind()] = true
	}
	for _, k := range kinds {
		if !have[k] {
			t.Errorf("config/%s has no %s", dir, k)
		}
	}
}

// TestControllerRBAC asks the API server's RBAC authorizer what the
// controller's ServiceAccount may do once config/default is applied: what
// the controller needs, and nothing that would let it write app data.
func TestControllerRBAC(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	applyForReal(ctx, t, env.Client, build(t, "default"),
		"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")

	type access struct {
		verb, group, resource, subresource, namespace string
	}
	const app, operator = "shop", "coffer-system"
	tests := map[access]bool{
		// Coffer's objects in app namespaces.
		{"watch", "coffer.dev", "backupdefinitions", "", app}:           true,
		{"patch", "coffer.dev", "backupdefinitions", "status", app}:     true,
		{"update", "coffer.dev", "backupdefinitions", "finalizers", ""}: true,
		{"patch", "coffer.dev", "backupdefinitions", "", app}:           true, // its finalizer
		{"create", "coffer.dev", "backupdefinitions", "", app}:          false,
		{"delete", "coffer.dev", "backupdefinitions", "", app}:          false,
		{"create", "coffer.dev", "backups", "", app}:                    true, // mirrored
		{"delete", "coffer.dev", "backups", "", app}:                    true,
		{"patch", "coffer.dev", "backups", "status", app}:               true,
		{"list", "coffer.dev", "restores", "", app}:                     true,
		{"update", "coffer.dev", "restores", "status", app}:             true,
		{"create", "coffer.dev", "restores", "", app}:                   false,
		{"list", "coffer.dev", "backupstorages", "", operator}:          true,
		{"update", "coffer.dev", "backupstorages", "", operator}:        false,
		// Referenced Secrets and the database's pods: read only.
		{"get", "", "secrets", "", app}:                true,
		{"watch", "", "secrets", "", app}:              true,
		{"create", "", "secrets", "", app}:             false,
		{"update", "", "secrets", "", app}:             false,
		{"list", "", "pods", "", app}:                  true,
		{"delete", "", "pods", "", app}:                false,
		{"create", "", "pods", "", app}:                false,
		{"watch", "", "namespaces", "", ""}:            true,
		{"create", "", "events", "", app}:              true,
		{"create", "events.k8s.io", "events", "", app}: true,
		// What it renders, only in the operator namespace.
		{"create", "", "secrets", "", operator}:                   true,
		{"delete", "", "secrets", "", operator}:                   true,
		{"create", "apps", "statefulsets", "", operator}:          true,
		{"watch", "apps", "statefulsets", "", operator}:           true,
		{"patch", "", "services", "", operator}:                   true,
		{"create", "apps", "statefulsets", "", app}:               false,
		{"create", "", "services", "", app}:                       false,
		{"create", "apps", "deployments", "", operator}:           false,
		{"create", "", "pods", "", operator}:                      false,
		{"create", "coordination.k8s.io", "leases", "", operator}: true,
		{"update", "coordination.k8s.io", "leases", "", operator}: true,
		{"create", "coordination.k8s.io", "leases", "", app}:      false,
		// Runners of kubernetes targets: a ServiceAccount each, bound per
		// namespace to the one read-only ClusterRole it may bind (checked by
		// name below).
		{"create", "", "serviceaccounts", "", operator}:                  true,
		{"create", "", "serviceaccounts", "", app}:                       false,
		{"create", "rbac.authorization.k8s.io", "rolebindings", "", app}: true,
		{"create", "rbac.authorization.k8s.io", "roles", "", app}:        false,
		{"bind", "rbac.authorization.k8s.io", "clusterroles", "", ""}:    false,
		{"list", "apps", "deployments", "", app}:                         false,
		// Restore grants: bindings of coffer-runner-restorer while a
		// Restore runs, cluster-wide only for the operator namespace's
		// definitions (the bindable roles are checked by name below), and
		// the authorizer asked whether a grant is in force.
		{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "", ""}: true,
		{"list", "rbac.authorization.k8s.io", "rolebindings", "", ""}:          true,
		{"update", "rbac.authorization.k8s.io", "clusterrolebindings", "", ""}: false,
		{"create", "authorization.k8s.io", "subjectaccessreviews", "", ""}:     true,
		// Nothing cluster-wide beyond that.
		{"create", "rbac.authorization.k8s.io", "clusterroles", "", ""}:  false,
		{"escalate", "rbac.authorization.k8s.io", "roles", "", operator}: false,
		{"create", "", "serviceaccounts", "token", operator}:             false,
	}
	const sa = "system:serviceaccount:coffer-system:coffer-controller"
	checkRunnerReader(ctx, t, env)
	for a, want := range tests {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   sa,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:coffer-system", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Namespace: a.namespace,
			},
		}}
		if err := env.Client.Create(ctx, sar); err != nil {
			t.Fatalf("SubjectAccessReview %+v: %v", a, err)
		}
		if sar.Status.Allowed != want {
			t.Errorf("%s %s %s/%s in %q: allowed=%v, want %v (%s)", sa, a.verb, a.group, a.resource+slash(a.subresource),
				a.namespace, sar.Status.Allowed, want, sar.Status.Reason)
		}
	}
}

// checkRunnerReader: the controller may bind coffer-runner-reader and
// coffer-runner-restorer and no other ClusterRole; the operator namespace's
// runner identity reads every namespace and, with no Restore running,
// writes none.
func checkRunnerReader(ctx context.Context, t *testing.T, env *testutil.Envtest) {
	t.Helper()
	for _, c := range []struct {
		user, verb, group, resource, name, namespace string
		want                                         bool
	}{
		{"coffer-controller", "bind", "rbac.authorization.k8s.io", "clusterroles", "coffer-runner-reader", "", true},
		{"coffer-controller", "bind", "rbac.authorization.k8s.io", "clusterroles", "coffer-runner-restorer", "", true},
		{"coffer-controller", "bind", "rbac.authorization.k8s.io", "clusterroles", "cluster-admin", "", false},
		{"coffer-controller", "bind", "rbac.authorization.k8s.io", "clusterroles", "coffer-controller", "", false},
		{"coffer-runner-cluster", "list", "", "secrets", "", "shop", true},
		{"coffer-runner-cluster", "get", "apps", "deployments", "", "shop", true},
		{"coffer-runner-cluster", "create", "", "configmaps", "", "shop", false},
		{"coffer-runner-cluster", "delete", "", "secrets", "", "shop", false},
	} {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:coffer-system:" + c.user,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:coffer-system", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: c.verb, Group: c.group, Resource: c.resource, Name: c.name, Namespace: c.namespace,
			},
		}}
		if err := env.Client.Create(ctx, sar); err != nil {
			t.Fatalf("SubjectAccessReview %+v: %v", c, err)
		}
		if sar.Status.Allowed != c.want {
			t.Errorf("%s %s %s/%s %q in %q: allowed=%v, want %v", c.user, c.verb, c.group, c.resource, c.name, c.namespace, sar.Status.Allowed, c.want)
		}
	}
}

func slash(sub string) string {
	if sub == "" {
		return ""
	}
	return "/" + sub
}

// TestCRDValidationRejects creates invalid objects, dry run: the CRDs'
// schemas and CEL rules must refuse each at admission with a message that
// says what is wrong. Each one's valid twin must be accepted, so a rejection
// is for the stated reason and not an unrelated one.
func TestCRDValidationRejects(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ns := env.CreateNamespace(t)

	tests := map[string]struct {
		valid   client.Object
		invalid func(client.Object)
		want    string // in the API server's message
	}{
		"target with two engine blocks": {
			valid: definition(ns),
			invalid: func(o client.Object) {
				d := o.(*v1alpha1.BackupDefinition)
				d.Spec.Targets[0].MySQL = &v1alpha1.MySQLTarget{Host: "db", Database: "shop", User: "root"}
			},
			want: "exactly one engine block",
		},
		"target with no engine block": {
			valid: definition(ns),
			invalid: func(o client.Object) {
				o.(*v1alpha1.BackupDefinition).Spec.Targets[0].Postgres = nil
			},
			want: "exactly one engine block",
		},
		"duplicate target names": {
			valid: definition(ns),
			invalid: func(o client.Object) {
				d := o.(*v1alpha1.BackupDefinition)
				d.Spec.Targets[1].Name = d.Spec.Targets[0].Name
			},
			want: "Duplicate value",
		},
		"target name not a DNS label": {
			valid: definition(ns),
			invalid: func(o client.Object) {
				o.(*v1alpha1.BackupDefinition).Spec.Targets[0].Name = "Main_DB"
			},
			want: "spec.targets[0].name",
		},
		"no targets": {
			valid: definition(ns),
			invalid: func(o client.Object) {
				o.(*v1alpha1.BackupDefinition).Spec.Targets = []v1alpha1.Target{}
			},
			want: "spec.targets",
		},
		"storage with s3 and filesystem": {
			valid: storage(ns),
			invalid: func(o client.Object) {
				o.(*v1alpha1.BackupStorage).Spec.Filesystem = &v1alpha1.FilesystemStorage{Path: "/backups"}
			},
			want: "exactly one of s3, filesystem, azure or gcs",
		},
		"storage with neither s3 nor filesystem": {
			valid: storage(ns),
			invalid: func(o client.Object) {
				o.(*v1alpha1.BackupStorage).Spec.S3 = nil
			},
			want: "exactly one of s3, filesystem, azure or gcs",
		},
		"storage with s3 and azure": {
			valid: storage(ns),
			invalid: func(o client.Object) {
				o.(*v1alpha1.BackupStorage).Spec.Azure = &v1alpha1.AzureStorage{Account: "acct", Container: "c"}
			},
			want: "exactly one of s3, filesystem, azure or gcs",
		},
		"offsite copy with s3 and filesystem": {
			valid: storage(ns),
			invalid: func(o client.Object) {
				o.(*v1alpha1.BackupStorage).Spec.Offsite = &v1alpha1.OffsiteStorage{Filesystem: &v1alpha1.FilesystemStorage{Path: "/far"},
					S3: &v1alpha1.S3Storage{Bucket: "far"}}
			},
			want: "exactly one of s3, filesystem, azure or gcs",
		},
		"verify with newest and budget": {
			valid: definition(ns),
			invalid: func(o client.Object) {
				budget := resource.MustParse("10Gi")
				o.(*v1alpha1.BackupDefinition).Spec.Verify = &v1alpha1.VerifySpec{Schedule: "@daily", Newest: 2, Budget: &budget}
			},
			want: "newest and budget exclude each other",
		},
		"restore from elsewhere": {
			valid: restore(ns),
			invalid: func(o client.Object) {
				o.(*v1alpha1.Restore).Spec.From = "elsewhere"
			},
			want: "spec.from",
		},
		"storage with an unknown compression level": {
			valid: storage(ns),
			invalid: func(o client.Object) {
				o.(*v1alpha1.BackupStorage).Spec.Compression = &v1alpha1.Compression{Level: "max"}
			},
			want: "spec.compression.level",
		},
		"restore with backupRef and latestOf": {
			valid: restore(ns),
			invalid: func(o client.Object) {
				o.(*v1alpha1.Restore).Spec.BackupRef = &v1alpha1.LocalObjectReference{Name: "shop-20261121"}
			},
			want: "exactly one of backupRef or latestOf",
		},
		"restore with neither backupRef nor latestOf": {
			valid: restore(ns),
			invalid: func(o client.Object) {
				o.(*v1alpha1.Restore).Spec.LatestOf = nil
			},
			want: "exactly one of backupRef or latestOf",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			valid := tc.valid.DeepCopyObject().(client.Object)
			if err := env.Client.Create(ctx, valid, client.DryRunAll); err != nil {
				t.Fatalf("the valid object is rejected: %v", err)
			}
			invalid := tc.valid.DeepCopyObject().(client.Object)
			tc.invalid(invalid)
			err := env.Client.Create(ctx, invalid, client.DryRunAll)
			if err == nil {
				t.Fatalf("accepted; want rejected with %q", tc.want)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("error %v is not 422 Invalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func definition(ns string) *v1alpha1.BackupDefinition {
	return &v1alpha1.BackupDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: v1alpha1.BackupDefinitionSpec{
			StorageRef: v1alpha1.LocalObjectReference{Name: "minio"},
			Schedule:   "0 * * * *",
			Targets: []v1alpha1.Target{
				{Name: "main", Postgres: &v1alpha1.PostgresTarget{Host: "db", Database: "shop", User: "postgres"}},
				{Name: "orders", MySQL: &v1alpha1.MySQLTarget{Host: "mariadb", Database: "orders", User: "root"}},
			},
		},
	}
}

func storage(ns string) *v1alpha1.BackupStorage {
	return &v1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Name: "minio", Namespace: ns},
		Spec: v1alpha1.BackupStorageSpec{
			S3: &v1alpha1.S3Storage{Bucket: "backups", Endpoint: "http://minio:9000", ForcePathStyle: true},
		},
	}
}

func restore(ns string) *v1alpha1.Restore {
	return &v1alpha1.Restore{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-restore", Namespace: ns},
		Spec: v1alpha1.RestoreSpec{
			LatestOf: &v1alpha1.LocalObjectReference{Name: "shop"},
		},
	}
}
