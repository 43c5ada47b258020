package mysql_test

import (
	"context"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/mysql"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestUnfinishedMark: a database CreateDatabase makes is marked unfinished
// until FinishDatabase; DropUnfinished drops only a marked database no other
// session uses; a database made any other way is never unfinished.
func TestUnfinishedMark(t *testing.T) {
	ctx := context.Background()
	s := testutil.SharedMySQL(t)
	e := mysql.New()
	u := engine.Engine(e).(engine.Unfinished)
	target := myTarget(s, "t", "mysql", "")
	exists := func(db string) bool {
		ok, err := e.DatabaseExists(ctx, target, db)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	isUnfinished := func(db string) bool {
		ok, err := u.IsUnfinished(ctx, target, db)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	create := func() string {
		db := testutil.UniqueName()
		s.DropOnCleanup(t, db)
		if created, err := e.CreateDatabase(ctx, target, db, nil); err != nil || !created {
			t.Fatalf("CreateDatabase %s: created %v, err %v", db, created, err)
		}
		return db
	}

	// Killed halfway: marked, with tables; in use, it stays.
	left := create()
	if !isUnfinished(left) {
		t.Fatalf("a database CreateDatabase made is not marked unfinished")
	}
	s.Exec(t, left, "CREATE TABLE half (i INT); INSERT INTO half VALUES (1)")
	user := s.Open(t, left)
	conn, err := user.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	if dropped, err := u.DropUnfinished(ctx, target, left); err != nil || dropped || !exists(left) {
		t.Fatalf("DropUnfinished of a marked database a session uses: dropped %v, err %v, exists %v; want it left alone", dropped, err, exists(left))
	}
	_ = conn.Close()
	_ = user.Close()
	if dropped, err := u.DropUnfinished(ctx, target, left); err != nil || !dropped || exists(left) {
		t.Fatalf("DropUnfinished of a marked idle database: dropped %v, err %v, exists %v; want it dropped", dropped, err, exists(left))
	}

	// Finished: no longer marked, never dropped.
	done := create()
	if err := u.FinishDatabase(ctx, target, done); err != nil {
		t.Fatal(err)
	}
	if isUnfinished(done) {
		t.Error("a finished database is still marked unfinished")
	}
	if dropped, err := u.DropUnfinished(ctx, target, done); err != nil || dropped || !exists(done) {
		t.Errorf("DropUnfinished of a finished database: dropped %v, err %v, exists %v; want it left alone", dropped, err, exists(done))
	}

	// Made by someone else, with a comment of its own, or none.
	mine := s.CreateDB(t)
	other := testutil.UniqueName()
	s.DropOnCleanup(t, other)
	s.Exec(t, "mysql", "CREATE DATABASE `"+other+"` COMMENT 'coffer: unfinished restore, not really'")
	for _, db := range []string{mine, other, "no_such_database_here"} {
		if isUnfinished(db) {
			t.Errorf("%s is taken for an unfinished restore's", db)
		}
		if dropped, err := u.DropUnfinished(ctx, target, db); err != nil || dropped {
			t.Errorf("DropUnfinished of %s: dropped %v, err %v; want it left alone", db, dropped, err)
		}
	}
	if !exists(mine) || !exists(other) {
		t.Error("a database not Coffer's was dropped")
	}
}
