package main

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/polar-gosling/polar-gosling/domain"
)

// The files `add` writes are built with hclwrite, values as cty values
// (never pasted into text), and then formatted canonically.

type eggSpec struct {
	Name, Type, Provider, Region  string
	CPU, Memory, Disk, Concurrent int // Disk 0: not written (serverless)
	Tags                          []string
	Image                         string
	// egg
	Server                     string
	ProjectID, GroupID         int64
	TokenSecret, WebhookSecret string
	// bucket
	Repos []repoSpec
}

type repoSpec struct {
	Name, Server       string
	ProjectID, GroupID int64
}

type jobSpec struct {
	Name, Schedule, Timeout, Script, RunnerType string
	Tags                                        []string
}

func comment(lines ...string) hclwrite.Tokens {
	var ts hclwrite.Tokens
	for _, l := range lines {
		ts = append(ts, &hclwrite.Token{Type: hclsyntax.TokenComment, Bytes: []byte("# " + l + "\n")})
	}
	return ts
}

func strs(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}

func renderEgg(s eggSpec, bucket bool) []byte {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	blockType, cmd := "egg", "add egg"
	if bucket {
		blockType, cmd = "eggsbucket", "add bucket"
	}
	root.AppendUnstructuredTokens(comment(
		"Written by `gosling "+cmd+"`. Check with `gosling validate`; every",
		"attribute, its range and its default: `gosling validate --explain`.",
	))
	body := root.AppendNewBlock(blockType, []string{s.Name}).Body()
	body.SetAttributeValue("type", cty.StringVal(s.Type))
	body.AppendNewline()

	cloud := body.AppendNewBlock("cloud", nil).Body()
	cloud.SetAttributeValue("provider", cty.StringVal(s.Provider))
	if s.Provider != domain.ProviderLocal.String() { // local's one region goes without saying
		cloud.SetAttributeValue("region", cty.StringVal(s.Region))
	}
	body.AppendNewline()

	res := body.AppendNewBlock("resources", nil).Body()
	res.SetAttributeValue("cpu", cty.NumberIntVal(int64(s.CPU)))
	res.SetAttributeValue("memory", cty.NumberIntVal(int64(s.Memory)))
	if s.Disk != 0 {
		res.SetAttributeValue("disk", cty.NumberIntVal(int64(s.Disk)))
	}
	body.AppendNewline()

	runner := body.AppendNewBlock("runner", nil).Body()
	if len(s.Tags) > 0 {
		runner.SetAttributeValue("tags", strs(s.Tags))
	}
	runner.SetAttributeValue("concurrent", cty.NumberIntVal(int64(s.Concurrent)))
	if s.Image != "" {
		runner.SetAttributeValue("image", cty.StringVal(s.Image))
	}
	body.AppendNewline()

	if bucket {
		repos := body.AppendNewBlock("repositories", nil).Body()
		for _, r := range s.Repos {
			gl := repos.AppendNewBlock("repo", []string{r.Name}).Body().AppendNewBlock("gitlab", nil).Body()
			setGitLab(gl, r.Server, r.ProjectID, r.GroupID)
		}
	} else {
		gl := body.AppendNewBlock("gitlab", nil).Body()
		setGitLab(gl, s.Server, s.ProjectID, s.GroupID)
		if s.TokenSecret != "" {
			gl.SetAttributeValue("token_secret", cty.StringVal(s.TokenSecret))
		}
		if s.WebhookSecret != "" {
			gl.SetAttributeValue("webhook_secret", cty.StringVal(s.WebhookSecret))
		}
	}
	return hclwrite.Format(f.Bytes())
}

func setGitLab(b *hclwrite.Body, server string, projectID, groupID int64) {
	b.SetAttributeValue("server", cty.StringVal(server))
	if projectID != 0 {
		b.SetAttributeValue("project_id", cty.NumberIntVal(projectID))
	} else {
		b.SetAttributeValue("group_id", cty.NumberIntVal(groupID))
	}
}

func renderJob(s jobSpec) []byte {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	root.AppendUnstructuredTokens(comment(
		"Written by `gosling add job`. Check with `gosling validate`; every",
		"attribute, its range and its default: `gosling validate --explain`.",
	))
	body := root.AppendNewBlock("job", []string{s.Name}).Body()
	body.SetAttributeValue("schedule", cty.StringVal(s.Schedule))
	body.SetAttributeValue("timeout", cty.StringVal(s.Timeout))
	body.SetAttributeRaw("script", scriptTokens(s.Script))
	body.AppendNewline()
	runner := body.AppendNewBlock("runner", nil).Body()
	runner.SetAttributeValue("type", cty.StringVal(s.RunnerType))
	if len(s.Tags) > 0 {
		runner.SetAttributeValue("tags", strs(s.Tags))
	}
	return hclwrite.Format(f.Bytes())
}

// scriptTokens renders a script as an indented heredoc when it has several
// lines (the way people write scripts in .fly files), else as a quoted
// string. The heredoc is used only when it reads back as exactly the
// script (plus a final newline); anything else falls back to the quoted
// string, which hclwrite escapes.
func scriptTokens(script string) hclwrite.Tokens {
	quoted := hclwrite.TokensForValue(cty.StringVal(script))
	body := strings.TrimSuffix(script, "\n")
	if !strings.Contains(body, "\n") {
		return quoted
	}
	lines := strings.Split(body, "\n")
	delim := "EOT"
	for i := 1; containsLine(lines, delim); i++ {
		delim = fmt.Sprintf("EOT%d", i)
	}
	var b strings.Builder
	for _, l := range lines {
		l = strings.ReplaceAll(l, "${", "$${")
		l = strings.ReplaceAll(l, "%{", "%%{")
		if l != "" {
			b.WriteString("    " + l)
		}
		b.WriteString("\n")
	}
	ts := hclwrite.Tokens{
		{Type: hclsyntax.TokenOHeredoc, Bytes: []byte("<<-" + delim + "\n")},
		{Type: hclsyntax.TokenStringLit, Bytes: []byte(b.String())},
		{Type: hclsyntax.TokenCHeredoc, Bytes: []byte("  " + delim)},
	}
	expr, diags := hclsyntax.ParseExpression(append(ts.Bytes(), '\n'), "script", hcl.InitialPos)
	if diags.HasErrors() {
		return quoted
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || v.Type() != cty.String || v.AsString() != body+"\n" {
		return quoted
	}
	return ts
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == s {
			return true
		}
	}
	return false
}
