package tofu_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/polar-gosling/polar-gosling/adapters/tofu"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

func specFor(target tofu.Target) tofu.RunnerSpec {
	s := tofu.RunnerSpec{
		Target: target, Name: "r1", Egg: "payments-api", RunnerID: "r-1", RunnerType: tofu.Apex,
		CPU: 2, MemoryMB: 4096, DiskGB: 20, Image: "img",
		Tags:           map[string]string{"team": "payments", "env": "prod"},
		MotherGooseURL: "https://mg.example.com",
		SecretURIs:     map[string]string{"RUNNER_TOKEN": "yc-lockbox://e6q8/runner-token"},
	}
	switch target {
	case tofu.TargetLocal:
		s.Region, s.Local = "local", &tofu.LocalTarget{WorkDir: "/tmp/w"}
	case tofu.TargetAWS:
		s.Region, s.AWS = "eu-central-1", &tofu.AWSTarget{InstanceType: "t3.medium", SubnetIDs: []string{"subnet-0123abcd"}}
	case tofu.TargetYandex:
		s.Region, s.Yandex = "ru-central1-a", &tofu.YandexTarget{FolderID: "b1gabc", SubnetID: "e9babc"}
	}
	return s
}

func TestRender(t *testing.T) {
	for _, target := range []tofu.Target{tofu.TargetLocal, tofu.TargetAWS, tofu.TargetYandex} {
		t.Run(string(target), func(t *testing.T) {
			spec := specFor(target)
			r, err := tofu.Render(spec, "../modules/compute/"+string(target))
			if err != nil {
				t.Fatal(err)
			}
			src := r.Files[tofu.RootFile]
			args := moduleArgs(t, src)
			wantStr := map[string]string{
				"source": "../modules/compute/" + string(target), "runner_id": "r-1", "egg": "payments-api",
				"runner_type": "apex", "mothergoose_url": "https://mg.example.com", "region": spec.Region,
			}
			for k, want := range wantStr {
				if v, ok := args[k]; !ok || v.Type() != cty.String || v.AsString() != want {
					t.Errorf("module argument %s = %#v, want %q", k, v, want)
				}
			}
			if got := args["secret_uris"].GetAttr("RUNNER_TOKEN").AsString(); got != "yc-lockbox://e6q8/runner-token" {
				t.Errorf("secret_uris.RUNNER_TOKEN = %q", got)
			}
			if got := args["tags"].LengthInt(); got != 2 {
				t.Errorf("tags has %d entries, want 2", got)
			}
			if !strings.Contains(string(src), "value = module.runner.hostname") {
				t.Errorf("outputs are not re-exported:\n%s", src)
			}
			again, _ := tofu.Render(spec, "../modules/compute/"+string(target))
			if again.Hash != r.Hash || string(again.Files[tofu.RootFile]) != string(src) {
				t.Error("rendering the same spec twice differs")
			}
			spec.Tags = map[string]string{"team": "other"}
			changed, _ := tofu.Render(spec, "../modules/compute/"+string(target))
			if changed.Hash == r.Hash {
				t.Error("a changed input keeps the config hash")
			}
		})
	}
}

func TestRender_provider_blocks(t *testing.T) {
	r, err := tofu.Render(specFor(tofu.TargetYandex), "./m")
	if err != nil {
		t.Fatal(err)
	}
	src := string(r.Files[tofu.RootFile])
	for _, want := range []string{`"yandex-cloud/yandex"`, `">= 0.170"`, `provider "yandex"`, `"ru-central1-a"`} {
		if !strings.Contains(src, want) {
			t.Errorf("yandex root lacks %q:\n%s", want, src)
		}
	}
	r, _ = tofu.Render(specFor(tofu.TargetLocal), "./m")
	if strings.Contains(string(r.Files[tofu.RootFile]), "provider") {
		t.Errorf("the local root must need no provider:\n%s", r.Files[tofu.RootFile])
	}
}

// moduleArgs parses a rendered root module and evaluates the arguments of its
// module "runner" block (they are all constants).
func moduleArgs(t *testing.T, src []byte) map[string]cty.Value {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL(src, tofu.RootFile)
	if diags.HasErrors() {
		t.Fatalf("rendered HCL does not parse: %v\n%s", diags, src)
	}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "module" || len(b.Labels) != 1 || b.Labels[0] != "runner" {
			continue
		}
		out := map[string]cty.Value{}
		for name, a := range b.Body.Attributes {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("argument %s is not a constant: %v", name, diags)
			}
			out[name] = v
		}
		return out
	}
	t.Fatalf("no module \"runner\" block:\n%s", src)
	return nil
}

func TestRender_rejects(t *testing.T) {
	cases := map[string]func(*tofu.RunnerSpec){
		"unknown_target":    func(s *tofu.RunnerSpec) { s.Target = "gcp" },
		"runner_id_path":    func(s *tofu.RunnerSpec) { s.RunnerID = "../x" },
		"missing_section":   func(s *tofu.RunnerSpec) { s.Local = nil },
		"relative_work_dir": func(s *tofu.RunnerSpec) { s.Local = &tofu.LocalTarget{WorkDir: "w"} },
		"empty_runner_id":   func(s *tofu.RunnerSpec) { s.RunnerID = "" },
		"upper_case_runner": func(s *tofu.RunnerSpec) { s.RunnerID = "R1" },
		"aws_without_aws":   func(s *tofu.RunnerSpec) { s.Target = tofu.TargetAWS },
		"yandex_without_yc": func(s *tofu.RunnerSpec) { s.Target = tofu.TargetYandex },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := specFor(tofu.TargetLocal)
			mutate(&s)
			_, err := tofu.Render(s, "./m")
			if !errs.Is(err, errs.EINVALID) {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestConfigHash_separates_files(t *testing.T) {
	a := tofu.ConfigHash(map[string][]byte{"a": []byte("bc")})
	b := tofu.ConfigHash(map[string][]byte{"ab": []byte("c")})
	if a == b {
		t.Fatal("file boundaries do not reach the hash")
	}
}
