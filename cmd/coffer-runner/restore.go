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
		Long: `Restore a backup. The whole backup is verified first (checksums, decryption),
so a corrupt object or a wrong key fails before any database is touched.
The destination database is created when it does not exist; a destination
that already has tables is refused unless --clean is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.BackupID == "" {
				return errNeedBackup
			}
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
	f.BoolVar(&req.SkipVerify, "skip-verify", false, "do not verify the whole backup before touching the database")
	k8s = addKubernetesRestoreFlags(f)
	g.addFromFlag(cmd)
	return cmd
}
