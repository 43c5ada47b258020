package kubectlcoffer

import (
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// Shell completion of names, read from the cluster (cobra's `completion`
// command prints the bash and zsh scripts).

// completeDefinitions completes a first argument.
func (a *app) completeDefinitions(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.completeDefinitionFlag(cmd, args, prefix)
}

// completeDefinitionFlag completes a flag's value, whatever the arguments.
func (a *app) completeDefinitionFlag(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if a.connect() != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var list v1alpha1.BackupDefinitionList
	if a.client.List(cmd.Context(), &list, client.InNamespace(a.namespace)) != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, d := range list.Items {
		if strings.HasPrefix(d.Name, prefix) {
			names = append(names, d.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) completeBackups(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 || a.connect() != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var list v1alpha1.BackupList
	if a.client.List(cmd.Context(), &list, client.InNamespace(a.namespace)) != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	if cmd.Name() == "restore" && strings.HasPrefix(latest, prefix) {
		names = append(names, latest)
	}
	for _, b := range list.Items {
		if strings.HasPrefix(b.Name, prefix) {
			names = append(names, b.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
