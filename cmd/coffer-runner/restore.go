package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/coffer-dev/coffer/internal/runner"
)

func newRestoreCommand(g *globals) *cobra.Command {
	var req runner.RestoreRequest
	var k8s *kubernetesRestoreFlags
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore a backup into its databases or into another database",
		Long: `Restore a backup. A corrupt object or a wrong key never leaves a destination
worse than it was. Into an existing destination the whole backup is verified
first (checksums, decryption), before it is touched; a deduplicated (format 2)
backup into an existing PostgreSQL or MariaDB database or directory is instead
checked chunk by chunk as it streams into a restore that a bad chunk undoes
(one transaction; MariaDB's rehearsal or emptying again; a staging directory). A PostgreSQL
or MySQL database that does not exist is created by the restore and checked
while it is restored, reading the backup once; it is dropped again if
anything fails.
A destination that already has tables is refused unless --clean is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.BackupID == "" {
				return errNeedBackup
			}
			g.readingBackup = limitReadMemory
			var err error
			if req.Kubernetes, err = k8s.options(); err != nil {
				return err
			}
			_, r, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			m, err := r.Restore(cmd.Context(), req)
			printRestoreOutcome(g.stdout, req.Kubernetes, err)
			if err != nil {
				return err
			}
			what := "all targets"
			if req.Target != "" {
				what = "target " + req.Target
			}
			into := ""
			switch {
			case req.IntoDatabase != "":
				into = " into database " + req.IntoDatabase
			case req.IntoPath != "":
				into = " into path " + req.IntoPath
			}
			fmt.Fprintf(g.stdout, "restored backup %s (%s)%s\n", m.ID, what, into)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.BackupID, "backup", "", "backup id, or latest (required)")
	f.StringVar(&req.Target, "target", "", "restore only this target")
	f.StringVar(&req.IntoDatabase, "into-database", "", "restore into this database instead of the target's own (needs --target when the backup has several)")
	f.StringVar(&req.IntoPath, "into-path", "", "restore into this directory or file instead of the target's own (filesystem, etcd, git)")
	f.BoolVar(&req.Clean, "clean", false, "allow restoring into a database that already has tables: its objects are dropped and recreated")
	f.BoolVar(&req.IgnoreDatabaseProperties, "ignore-database-properties", false, "restore into an existing database whose encoding or collation differ from the backed-up database's")
	f.BoolVar(&req.SkipVerify, "skip-verify", false, "do not verify the whole backup before touching an existing destination (a new database is checked while it is restored)")
	k8s = addKubernetesRestoreFlags(f)
	g.addFromFlag(cmd)
	return cmd
}
