package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/engine/kubernetes"
)

// kubernetesRestoreFlags are restore's options for kubernetes targets.
type kubernetesRestoreFlags struct {
	flags   *pflag.FlagSet
	mapping []string
	opts    v1alpha1.KubernetesRestoreOptions
}

func addKubernetesRestoreFlags(f *pflag.FlagSet) *kubernetesRestoreFlags {
	k := &kubernetesRestoreFlags{flags: f}
	f.StringSliceVar(&k.mapping, "namespace-mapping", nil, "kubernetes: restore namespace old into new (old=new, comma-separated)")
	f.StringVar(&k.opts.ExistingResources, "existing-resources", "", "kubernetes: skip (default) or update objects that exist")
	f.BoolVar(&k.opts.DryRun, "dry-run", false, "kubernetes: send every write as a server-side dry run and report what would change")
	f.StringSliceVar(&k.opts.IncludedNamespaces, "include-namespaces", nil, "kubernetes: restore only these namespaces of the backup (globs)")
	f.StringSliceVar(&k.opts.ExcludedNamespaces, "exclude-namespaces", nil, "kubernetes: do not restore these namespaces (globs)")
	f.StringSliceVar(&k.opts.IncludedResources, "include-resources", nil, "kubernetes: restore only these resources (globs, e.g. deployments.apps)")
	f.StringSliceVar(&k.opts.ExcludedResources, "exclude-resources", nil, "kubernetes: do not restore these resources (globs)")
	return k
}

// options returns nil when no kubernetes flag was given.
func (k *kubernetesRestoreFlags) options() (*v1alpha1.KubernetesRestoreOptions, error) {
	set := false
	for _, name := range []string{"namespace-mapping", "existing-resources", "dry-run", "include-namespaces",
		"exclude-namespaces", "include-resources", "exclude-resources"} {
		set = set || k.flags.Changed(name)
	}
	if !set {
		return nil, nil
	}
	o := k.opts
	for _, m := range k.mapping {
		from, to, ok := strings.Cut(m, "=")
		if !ok || from == "" || to == "" {
			return nil, usageError{fmt.Errorf("--namespace-mapping %q: want old=new", m)}
		}
		if o.NamespaceMapping == nil {
			o.NamespaceMapping = map[string]string{}
		}
		o.NamespaceMapping[from] = to
	}
	return &o, nil
}

// printRestoreOutcome says how a kubernetes restore went; per-object
// results are in the log.
func printRestoreOutcome(w io.Writer, o *v1alpha1.KubernetesRestoreOptions, err error) {
	if o != nil && o.DryRun && err == nil {
		fmt.Fprintln(w, "dry run: nothing was changed; the log lists what each object would do")
	}
	var pe *kubernetes.PartialError
	if errors.As(err, &pe) {
		fmt.Fprintf(w, "PartiallyFailed: %d created, %d updated, %d unchanged, %d skipped, %d failed\n",
			pe.Report.Created, pe.Report.Updated, pe.Report.Unchanged, pe.Report.Skipped, len(pe.Report.Failures))
	}
}

// addOrderedResourcesFlag lets one backup order the objects of its
// kubernetes targets differently, in the seed's flat form.
func addOrderedResourcesFlag(cmd *cobra.Command) *string {
	return cmd.Flags().String("ordered-resources", "",
		`kubernetes: order objects for this backup, e.g. "pods=ns1/pod1,~ns1/web-.*;persistentvolumeclaims=ns2/data"`)
}

// applyOrderedResources sets the flat form on every kubernetes target.
func applyOrderedResources(cfg *config.Config, flat string) error {
	if flat == "" {
		return nil
	}
	m, err := kubernetes.ParseFlat(flat)
	if err != nil {
		return usageError{fmt.Errorf("--ordered-resources: %w", err)}
	}
	n := 0
	for i := range cfg.Definition.Spec.Targets {
		if k := cfg.Definition.Spec.Targets[i].Kubernetes; k != nil {
			k.OrderedResources = m
			n++
		}
	}
	if n == 0 {
		return usageError{errors.New("--ordered-resources: the config has no kubernetes target")}
	}
	return nil
}
