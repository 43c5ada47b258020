package kubectlcoffer

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/naming"
)

// runnerContainer is the container of a runner pod (internal/controller's
// rendering).
const runnerContainer = "runner"

type logsFlags struct {
	follow, previous bool
	tail             int64
	since            time.Duration
}

func (a *app) logsCommand() *cobra.Command {
	var f logsFlags
	cmd := &cobra.Command{
		Use:   "logs DEFINITION",
		Short: "The logs of a definition's runner pod (through the API server, like kubectl logs)",
		Long: "Prints the logs of runner-<namespace>-<name>-0 in the operator namespace. Needs get on pods/log\n" +
			"there (docs/kubectl-plugin.md, RBAC).",
		Args:              exactArgs(1, "the name of a BackupDefinition"),
		ValidArgsFunction: a.completeDefinitions,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.logs(cmd.Context(), args[0], f)
		},
	}
	cmd.Flags().BoolVarP(&f.follow, "follow", "f", false, "stream new lines until interrupted")
	cmd.Flags().BoolVarP(&f.previous, "previous", "p", false, "the logs of the previous (crashed or restarted) runner container")
	cmd.Flags().Int64Var(&f.tail, "tail", -1, "only the last N lines (-1: all)")
	cmd.Flags().DurationVar(&f.since, "since", 0, "only lines newer than this (e.g. 1h)")
	return cmd
}

func (a *app) logs(ctx context.Context, definition string, f logsFlags) error {
	if err := a.connect(); err != nil {
		return err
	}
	def := &v1alpha1.BackupDefinition{}
	if err := a.client.Get(ctx, types.NamespacedName{Namespace: a.namespace, Name: definition}, def); err != nil {
		return apiErr(err, fmt.Sprintf("BackupDefinition %q in namespace %q", definition, a.namespace))
	}
	pod := naming.RunnerName(def.Namespace, def.Name) + "-0"
	opts := &corev1.PodLogOptions{Container: runnerContainer, Follow: f.follow, Previous: f.previous}
	if f.tail >= 0 {
		opts.TailLines = &f.tail
	}
	if f.since > 0 {
		secs := int64(f.since.Seconds())
		opts.SinceSeconds = &secs
	}
	stream, err := a.clientset.CoreV1().Pods(a.operatorNS).GetLogs(pod, opts).Stream(ctx)
	if apierrors.IsNotFound(err) {
		return notFoundErr(fmt.Sprintf("`kubectl coffer status %s -n %s` says why (Ready condition, runner StatefulSet)", definition, a.namespace),
			"the runner pod %s/%s of %s/%s does not exist", a.operatorNS, pod, def.Namespace, def.Name)
	}
	if err != nil {
		return apiErr(err, fmt.Sprintf("logs of runner pod %s/%s", a.operatorNS, pod))
	}
	defer func() { _ = stream.Close() }()
	if _, err := io.Copy(a.opts.Out, stream); err != nil && ctx.Err() == nil {
		return apiErr(err, fmt.Sprintf("logs of runner pod %s/%s", a.operatorNS, pod))
	}
	return nil
}
