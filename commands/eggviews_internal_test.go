package commands

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/ports"
)

// A delivery goes to the live egg on its server that lists its project,
// else to the first that lists its group.
func TestMatchEgg(t *testing.T) {
	eggs := liveEggs([]ports.EggConfigRow{
		{Name: "removed", GitLabServer: "gitlab.com", ProjectIDs: []int64{1}, Removed: true},
		{Name: "group_a", GitLabServer: "gitlab.com", GroupIDs: []int64{9}},
		{Name: "group_b", GitLabServer: "gitlab.com", GroupIDs: []int64{9}, ProjectIDs: []int64{2}},
		{Name: "project", GitLabServer: "GitLab.com", ProjectIDs: []int64{1}},
		{Name: "url", GitLabServer: "https://GitLab.Example.com/", ProjectIDs: []int64{3}},
		{Name: "port", GitLabServer: "gitlab.example.org:8443", ProjectIDs: []int64{4}},
	})
	tests := []struct {
		name           string
		project, group int64
		host           string
		want           string // "" for no egg
	}{
		{name: "project_wins_over_group", project: 1, group: 9, host: "gitlab.com", want: "project"},
		{name: "removed_egg_skipped", project: 1, host: "gitlab.com", want: "project"},
		{name: "first_group_match", project: 7, group: 9, host: "gitlab.com", want: "group_a"},
		{name: "project_of_a_group_egg", project: 2, group: 9, host: "gitlab.com", want: "group_b"},
		{name: "server_without_port_on_any_port", project: 1, host: "gitlab.com:8080", want: "project"},
		{name: "server_url", project: 3, host: "gitlab.example.com", want: "url"},
		{name: "server_port", project: 4, host: "gitlab.example.org:8443", want: "port"},
		{name: "server_port_other_port", project: 4, host: "gitlab.example.org:9443"},
		{name: "server_port_no_port", project: 4, host: "gitlab.example.org"},
		{name: "other_host", project: 1, group: 9, host: "gitlab.example.com"},
		{name: "no_host", project: 1, group: 9},
		{name: "no_project_no_group", host: "gitlab.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, found := matchEgg(eggs, EggQuery{Project: tc.project, Group: tc.group, Host: tc.host})
			if found != (tc.want != "") || got.Name != tc.want {
				t.Fatalf("matchEgg = %q, %v; want %q", got.Name, found, tc.want)
			}
		})
	}
}
