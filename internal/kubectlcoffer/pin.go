package kubectlcoffer

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// pinCommand is `pin` (pin true) or `unpin`: it sets the Backup's
// spec.pinned, which the controller forwards to the runner's "pinned" label
// (condition PinForwarded).
func (a *app) pinCommand(pin bool) *cobra.Command {
	var wf waitFlags
	use, short := "pin BACKUP", "Keep a backup until it is unpinned (retention never deletes a pinned backup)"
	if !pin {
		use, short = "unpin BACKUP", "Let retention decide about a pinned backup again"
	}
	cmd := &cobra.Command{
		Use:               use,
		Short:             short,
		Args:              exactArgs(1, "the name of a Backup (see `kubectl coffer list`)"),
		ValidArgsFunction: a.completeBackups,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.pin(cmd.Context(), args[0], pin, wf)
		},
	}
	cmd.Flags().BoolVarP(&wf.wait, "wait", "w", false, "wait until the runner holds the change; exit 4 if it cannot")
	cmd.Flags().DurationVar(&wf.timeout, "timeout", 0, "with --wait, stop waiting after this long (exit 5)")
	return cmd
}

func (a *app) pin(ctx context.Context, name string, pin bool, wf waitFlags) error {
	if err := a.connect(); err != nil {
		return err
	}
	verb := map[bool]string{true: "pinned", false: "unpinned"}[pin]
	b := &v1alpha1.Backup{}
	key := types.NamespacedName{Namespace: a.namespace, Name: name}
	if err := a.client.Get(ctx, key, b); err != nil {
		return apiErr(err, fmt.Sprintf("Backup %q in namespace %q", name, a.namespace))
	}
	if b.Status.Phase == v1alpha1.BackupFailed {
		return usageErr("pin a Completed backup (kubectl coffer list "+b.Spec.DefinitionRef.Name+")", "Backup %q failed: there is nothing to pin", name)
	}
	if b.Spec.Pinned != pin {
		before := b.DeepCopy()
		b.Spec.Pinned = pin
		if err := a.client.Patch(ctx, b, client.MergeFrom(before)); err != nil {
			return apiErr(err, fmt.Sprintf("set spec.pinned of Backup %q", name))
		}
		fmt.Fprintf(a.opts.Out, "backup %s %s (spec.pinned=%t; the controller forwards it to the runner)\n", name, verb, pin)
	} else {
		fmt.Fprintf(a.opts.Out, "backup %s is already %s (spec.pinned=%t)\n", name, verb, pin)
	}
	if !wf.wait {
		return nil
	}
	return a.waitPin(ctx, b, verb, wf)
}

// waitPin waits for the PinForwarded condition of b's current generation.
func (a *app) waitPin(ctx context.Context, b *v1alpha1.Backup, verb string, wf waitFlags) error {
	wctx, cancel := wf.context(ctx)
	defer cancel()
	gen := b.Generation
	p := &progress{w: a.opts.Out, terminal: a.opts.Terminal}
	began := a.opts.Now()
	follow := fmt.Sprintf("kubectl coffer describe backup %s -n %s", b.Name, b.Namespace)
	for {
		if err := a.client.Get(wctx, client.ObjectKeyFromObject(b), b); err != nil {
			p.done()
			if wctx.Err() != nil {
				return waitErr(ctx, "the pin of "+b.Name, follow)
			}
			return apiErr(err, "Backup "+b.Name)
		}
		c := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionPinForwarded)
		state := "waiting for the controller"
		if c != nil && c.ObservedGeneration >= gen {
			switch {
			case c.Status == metav1.ConditionTrue:
				p.done()
				_, err := fmt.Fprintf(a.opts.Out, "backup %s %s: %s\n", b.Name, verb, c.Message)
				return err
			case c.Reason == v1alpha1.ReasonNothingToPin:
				p.done()
				return failedErr("", "backup %s cannot be %s: %s", b.Name, verb, c.Message)
			}
			state = c.Reason + ": " + c.Message + " (the controller retries)"
		}
		p.show("backup "+b.Name+": "+state, began, a.opts.Now())
		select {
		case <-wctx.Done():
			p.done()
			return waitErr(ctx, "the pin of "+b.Name, follow)
		case <-time.After(a.opts.Poll):
		}
	}
}
