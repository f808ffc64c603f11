package account

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestLookupAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		user    string
		want    *Account
		wantErr error
	}{
		{name: "with groups", user: "work", want: &Account{Name: "work", UID: 1000, GID: 1000, Groups: []uint32{1000, 100, 999}, Home: "/home/work", Shell: "/bin/bash"}},
		{name: "no shell means /bin/sh", user: "ma-user", want: &Account{Name: "ma-user", UID: 1001, GID: 100, Groups: []uint32{100}, Home: "/home/ma-user", Shell: "/bin/sh"}},
		{name: "relative home means /", user: "relhome", want: &Account{Name: "relhome", UID: 1002, GID: 1002, Groups: []uint32{1002}, Home: "/", Shell: "/bin/zsh"}},
		{name: "missing", user: "wrok", wantErr: ErrNoAccount},
		{name: "unparsable uid is no account", user: "broken", wantErr: ErrNoAccount},
		{name: "colon in name", user: "work:x", wantErr: ErrNoAccount},
		{name: "empty", user: "", wantErr: ErrNoAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lookupIn("testdata/passwd", "testdata/group", tt.user)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.want.Name || got.UID != tt.want.UID || got.GID != tt.want.GID || got.Home != tt.want.Home ||
				got.Shell != tt.want.Shell || !slices.Equal(got.Groups, tt.want.Groups) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLookupErrorNamesUserAndFile(t *testing.T) {
	t.Parallel()
	_, err := lookupIn("testdata/passwd", "testdata/group", "wrok")
	if want := `user "wrok" not found in testdata/passwd`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want it to contain %q", err, want)
	}
}

func TestDefaultName(t *testing.T) {
	t.Parallel()
	only := func(names ...string) LookupFunc {
		return func(name string) (*Account, error) {
			if slices.Contains(names, name) {
				return &Account{Name: name}, nil
			}
			return nil, ErrNoAccount
		}
	}
	byUID := func(uid int) (string, error) { return "alice", nil }
	tests := []struct {
		name    string
		uid     int
		lookup  LookupFunc
		want    string
		wantErr bool
	}{
		{name: "non-root serves itself", uid: 1000, lookup: only("work"), want: "alice"},
		{name: "root prefers work", uid: 0, lookup: only("work", "ma-user"), want: "work"},
		{name: "root falls back to ma-user", uid: 0, lookup: only("ma-user"), want: "ma-user"},
		{name: "root never defaults to root", uid: 0, lookup: only("root"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DefaultName(tt.uid, byUID, tt.lookup)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
