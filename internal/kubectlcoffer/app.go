// Package kubectlcoffer is the kubectl plugin kubectl-coffer: on-demand
// backups and restores, listings and status of Coffer's objects, through
// the Kubernetes API only. It creates the objects the controller expects
// (Backup, Restore, spec.pinned) and follows their status; it never talks
// to a runner itself. docs/kubectl-plugin.md is its user documentation.
package kubectlcoffer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// DefaultOperatorNamespace is where Coffer's controller and runners live
// unless --operator-namespace says otherwise.
const DefaultOperatorNamespace = "coffer-system"

// defaultPoll is how often --wait reads the object.
const defaultPoll = time.Second

// Options are what the plugin reads from its surroundings; main passes the
// process's, tests their own.
type Options struct {
	Out, ErrOut io.Writer
	// RESTConfig, when set, is used instead of the kubeconfig (tests).
	RESTConfig *rest.Config
	// Namespace is the default namespace with RESTConfig.
	Namespace string
	// Now is the clock for ages; time.Now when nil.
	Now func() time.Time
	// Poll is how often --wait reads; one second when zero.
	Poll time.Duration
	// Terminal rewrites the progress line in place; otherwise each change
	// is a line of its own. Main sets it when stdout is a terminal.
	Terminal bool
	// Version is printed by `kubectl coffer version`.
	Version string
}

// app is one invocation: options, global flags and lazily made clients.
type app struct {
	opts       Options
	rules      *clientcmd.ClientConfigLoadingRules
	overrides  *clientcmd.ConfigOverrides
	operatorNS string

	client    client.Client
	clientset kubernetes.Interface
	namespace string
}

// Run runs the plugin with args (without the program name) and returns the
// exit code; errors are printed to opts.ErrOut.
func Run(ctx context.Context, args []string, opts Options) int {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.ErrOut == nil {
		opts.ErrOut = os.Stderr
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll <= 0 {
		opts.Poll = defaultPoll
	}
	a := &app{opts: opts, rules: clientcmd.NewDefaultClientConfigLoadingRules(), overrides: &clientcmd.ConfigOverrides{}}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(opts.Out)
	root.SetErr(opts.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	var ce *cmdError
	if !errors.As(err, &ce) && strings.HasPrefix(err.Error(), "unknown command") {
		// cobra's own: flag and argument errors are ours already.
		code = ExitUsage
		err = &cmdError{code: ExitUsage, msg: err.Error(), next: "see `kubectl coffer --help`"}
	}
	if ctx.Err() != nil && code == ExitError {
		code = ExitInterrupted
	}
	fmt.Fprintln(opts.ErrOut, "error:", err)
	return code
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-coffer",
		Short: "Back up, restore and inspect Coffer backups from kubectl",
		Long: "kubectl coffer creates on-demand Backups and Restores the way Coffer's controller expects, follows\n" +
			"them, and shows backups, definitions and coverage. Exit codes: 0 ok, 1 API error, 2 usage,\n" +
			"3 not found, 4 backup/restore failed, 5 --timeout passed, 130 interrupted (docs/kubectl-plugin.md).",
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl coffer"},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageErr("see `kubectl coffer COMMAND --help`", "%v", err)
	})
	fs := root.PersistentFlags()
	fs.StringVar(&a.rules.ExplicitPath, "kubeconfig", "", "path to the kubeconfig file")
	clientcmd.BindOverrideFlags(a.overrides, fs, clientcmd.ConfigOverrideFlags{
		CurrentContext: clientcmd.FlagInfo{LongName: "context", Description: "the kubeconfig context to use"},
		ContextOverrideFlags: clientcmd.ContextOverrideFlags{
			Namespace: clientcmd.FlagInfo{LongName: "namespace", ShortName: "n", Description: "the namespace of the definitions, backups and restores"},
		},
	})
	fs.StringVar(&a.operatorNS, "operator-namespace", DefaultOperatorNamespace, "the namespace Coffer's controller and runners run in")
	root.AddCommand(a.backupCommand(), a.listCommand(), a.describeCommand(), a.restoreCommand(),
		a.pinCommand(true), a.pinCommand(false), a.statusCommand(), a.logsCommand(), a.coverageCommand(), a.versionCommand())
	return root
}

// connect makes the clients and resolves the namespace, once.
func (a *app) connect() error {
	if a.client != nil {
		return nil
	}
	cfg, ns, err := a.restConfig()
	if err != nil {
		return &cmdError{code: ExitError, msg: "kubeconfig: " + err.Error(),
			next: "point --kubeconfig or $KUBECONFIG at a kubeconfig, as for kubectl"}
	}
	scheme := runtime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), v1alpha1.AddToScheme(scheme)); err != nil {
		return err
	}
	if a.client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return apiErr(err, "connect to the API server")
	}
	if a.clientset, err = kubernetes.NewForConfig(cfg); err != nil {
		return apiErr(err, "connect to the API server")
	}
	a.namespace = ns
	return nil
}

func (a *app) restConfig() (*rest.Config, string, error) {
	if a.opts.RESTConfig != nil {
		ns := a.overrides.Context.Namespace
		if ns == "" {
			ns = a.opts.Namespace
		}
		if ns == "" {
			ns = "default"
		}
		return rest.CopyConfig(a.opts.RESTConfig), ns, nil
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(a.rules, a.overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", err
	}
	ns, _, err := cc.Namespace()
	return cfg, ns, err
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := a.opts.Version
			if v == "" {
				v = "dev"
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "kubectl-coffer", v)
			return err
		},
	}
}

// Argument checks that fail with ExitUsage and say what is expected.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr("usage: "+cmd.UseLine(), "%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr("usage: "+cmd.UseLine(), "%s needs %s", cmd.CommandPath(), what)
		}
		return nil
	}
}

func maxArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usageErr("usage: "+cmd.UseLine(), "%s takes at most %s", cmd.CommandPath(), what)
		}
		return nil
	}
}

// waitErr is the error of a wait that ended before the work: ExitTimeout
// when --timeout passed, ExitInterrupted when the caller's ctx ended
// (Ctrl-C); either way the work goes on.
func waitErr(ctx context.Context, what, follow string) error {
	if ctx.Err() == nil {
		return &cmdError{code: ExitTimeout, msg: "--timeout passed before " + what + " ended; it goes on", next: "follow it with `" + follow + "`"}
	}
	return &cmdError{code: ExitInterrupted, msg: "stopped waiting for " + what + "; it goes on", next: "follow it with `" + follow + "`"}
}
