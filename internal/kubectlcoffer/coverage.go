package kubectlcoffer

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/internal/coverage"
)

// The controller pod serves the coverage report on its "metrics" port
// (config/manager/deployment.yaml); the plugin reads it through the API
// server's pod proxy.
var controllerPodLabels = client.MatchingLabels{"app.kubernetes.io/name": "coffer", "app.kubernetes.io/component": "controller"}

const metricsPortName = "metrics"

func (a *app) coverageCommand() *cobra.Command {
	var all bool
	var states []string
	var output string
	cmd := &cobra.Command{
		Use:   "coverage",
		Short: "Which PersistentVolumeClaims are protected, stale, unprotected or excluded",
		Long: "Reads the controller's coverage report (docs/coverage.md) through the API server's pod proxy: needs\n" +
			"get on pods and pods/proxy in the operator namespace. Without -A, the namespace's claims and definitions;\n" +
			"the totals line always counts the whole cluster. Tables: NAMESPACE, PVC, STATE, REASON, DEFINITIONS;\n" +
			"then NAMESPACE, DEFINITION, PROTECTING, LAST-SUCCESS, NEXT-RUN, REASON.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, outJSON, outYAML); err != nil {
				return err
			}
			for _, s := range states {
				if !slices.Contains(coverage.States, coverage.State(s)) {
					return usageErr("use protected, stale, unprotected or excluded", "--state %q is not a coverage state", s)
				}
			}
			return a.coverage(cmd.Context(), all, states, output)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "every namespace")
	cmd.Flags().StringArrayVar(&states, "state", nil, "only claims in this state (repeatable)")
	_ = cmd.RegisterFlagCompletionFunc("state", cobra.FixedCompletions([]string{"protected", "stale", "unprotected", "excluded"}, cobra.ShellCompDirectiveNoFileComp))
	outputFlag(cmd, &output, outJSON, outYAML)
	return cmd
}

func (a *app) coverage(ctx context.Context, all bool, states []string, output string) error {
	if err := a.connect(); err != nil {
		return err
	}
	params := map[string]string{}
	if !all {
		params["namespace"] = a.namespace
	}
	rep, err := a.coverageReport(ctx, params, states)
	if err != nil {
		return err
	}
	if output != outTable {
		return printData(a.opts.Out, output, rep)
	}
	now := a.opts.Now()
	w := a.opts.Out
	var totals []string
	for _, s := range coverage.States {
		totals = append(totals, fmt.Sprintf("%d %s", rep.Totals[s], s))
	}
	fmt.Fprintf(w, "cluster: %s (report of %s)\n\n", strings.Join(totals, ", "), rep.GeneratedAt.UTC().Format(time.RFC3339))
	claims := &table{header: []string{"NAMESPACE", "PVC", "STATE", "REASON", "DEFINITIONS"}}
	for _, c := range rep.Claims {
		claims.add(c.Namespace, c.Name, string(c.State), c.Reason, strings.Join(c.Definitions, ","))
	}
	if err := claims.write(w); err != nil {
		return err
	}
	fmt.Fprintln(w)
	defs := &table{header: []string{"NAMESPACE", "DEFINITION", "PROTECTING", "LAST-SUCCESS", "NEXT-RUN", "REASON"}}
	for _, d := range rep.Definitions {
		defs.add(d.Namespace, d.Name, strconv.FormatBool(d.Protecting), relative(now, metaTime(d.LastSuccess)), relative(now, metaTime(d.NextRun)), d.Reason)
	}
	return defs.write(w)
}

func metaTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	return &metav1.Time{Time: *t}
}

// coverageReport fetches the report from a ready controller pod.
func (a *app) coverageReport(ctx context.Context, params map[string]string, states []string) (*coverage.Report, error) {
	var pods corev1.PodList
	if err := a.client.List(ctx, &pods, client.InNamespace(a.operatorNS), controllerPodLabels); err != nil {
		return nil, apiErr(err, "list the controller pods in namespace "+a.operatorNS)
	}
	pod, port := readyControllerPod(pods.Items)
	if pod == "" {
		return nil, notFoundErr(fmt.Sprintf("is Coffer installed in %s? (`kubectl -n %s get pods`; --operator-namespace if elsewhere)", a.operatorNS, a.operatorNS),
			"no ready coffer-controller pod with a %q port in namespace %s", metricsPortName, a.operatorNS)
	}
	req := a.clientset.CoreV1().Pods(a.operatorNS).ProxyGet("http", pod, port, coverage.HandlerPath, params)
	raw, err := req.DoRaw(ctx)
	if err == nil && len(states) > 0 {
		// ProxyGet takes one value per parameter: filter states here.
		raw, err = filterStates(raw, states)
	}
	if err != nil {
		return nil, apiErr(err, fmt.Sprintf("the coverage report of pod %s/%s", a.operatorNS, pod))
	}
	rep := &coverage.Report{}
	if err := json.Unmarshal(raw, rep); err != nil {
		return nil, &cmdError{code: ExitError, msg: fmt.Sprintf("the coverage report of pod %s/%s is not JSON: %v", a.operatorNS, pod, err),
			next: "is the controller a version with a coverage report (docs/coverage.md)?"}
	}
	return rep, nil
}

func filterStates(raw []byte, states []string) ([]byte, error) {
	rep := &coverage.Report{}
	if err := json.Unmarshal(raw, rep); err != nil {
		return raw, nil // reported by the caller
	}
	keep := rep.Claims[:0]
	for _, c := range rep.Claims {
		if slices.Contains(states, string(c.State)) {
			keep = append(keep, c)
		}
	}
	rep.Claims = keep
	return json.Marshal(rep)
}

// readyControllerPod returns a ready controller pod and its metrics port.
func readyControllerPod(pods []corev1.Pod) (name, port string) {
	for _, p := range pods {
		if !p.DeletionTimestamp.IsZero() || !podReady(&p) {
			continue
		}
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == metricsPortName {
					return p.Name, strconv.Itoa(int(cp.ContainerPort))
				}
			}
		}
	}
	return "", ""
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
