package kubectlcoffer

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
)

// Exit codes (docs/kubectl-plugin.md). Scripts rely on them: never renumber.
const (
	// ExitOK: the command did what it was asked.
	ExitOK = 0
	// ExitError: the API server or the controller could not be reached,
	// refused the request, or answered something unexpected.
	ExitError = 1
	// ExitUsage: wrong arguments or flags; nothing was changed.
	ExitUsage = 2
	// ExitNotFound: a definition, backup, restore or pod named does not exist.
	ExitNotFound = 3
	// ExitFailed: with --wait, the backup or restore (or pin) ended Failed.
	ExitFailed = 4
	// ExitTimeout: --timeout passed before the work ended; it goes on.
	ExitTimeout = 5
	// ExitInterrupted: interrupted (Ctrl-C) while waiting; the work goes on.
	ExitInterrupted = 130
)

// cmdError is an error with its exit code and what to do next.
type cmdError struct {
	code int
	msg  string
	// next says what the user can do about it.
	next string
}

func (e *cmdError) Error() string {
	if e.next == "" {
		return e.msg
	}
	return e.msg + "\n" + e.next
}

func usageErr(next, format string, args ...any) error {
	return &cmdError{code: ExitUsage, msg: fmt.Sprintf(format, args...), next: next}
}

func notFoundErr(next, format string, args ...any) error {
	return &cmdError{code: ExitNotFound, msg: fmt.Sprintf(format, args...), next: next}
}

func failedErr(next, format string, args ...any) error {
	return &cmdError{code: ExitFailed, msg: fmt.Sprintf(format, args...), next: next}
}

// exitCode maps an error to the exit code the docs promise.
func exitCode(err error) int {
	var ce *cmdError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ce):
		return ce.code
	case apierrors.IsNotFound(err):
		return ExitNotFound
	}
	return ExitError
}

// apiErr explains an API error about what (e.g. `BackupDefinition "shop" in
// namespace "apps"`) and says what to do next.
func apiErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return &cmdError{code: ExitNotFound, msg: what + " does not exist",
			next: "check the name and the namespace (-n NAMESPACE); list what exists with `kubectl coffer list -A` or `kubectl get backupdefinitions -A`"}
	case apierrors.IsForbidden(err):
		return &cmdError{code: ExitError, msg: what + ": forbidden: " + err.Error(),
			next: "ask your cluster admin for the RBAC docs/kubectl-plugin.md lists for this command"}
	case apierrors.IsInvalid(err):
		return &cmdError{code: ExitUsage, msg: what + ": rejected by the API server: " + err.Error(),
			next: "fix the flags named above; the CRD's rules are in docs/operator.md"}
	case meta.IsNoMatchError(err) || discovery.IsGroupDiscoveryFailedError(err):
		return &cmdError{code: ExitError, msg: what + ": the cluster does not know Coffer's kinds (coffer.dev/v1alpha1): " + err.Error(),
			next: "install Coffer first: `helm install coffer charts/coffer -n coffer-system` or `make deploy` (README.md)"}
	}
	return &cmdError{code: ExitError, msg: what + ": " + err.Error(),
		next: "check that the cluster is reachable with `kubectl get backupdefinitions` (kubeconfig, --context)"}
}
