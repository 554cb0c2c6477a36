package fly_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
)

// BenchmarkLoadNest loads and validates a generated Nest of 5,000 eggs
// (every tenth an eggsbucket) and 500 jobs, and in the same run parses the
// same files with bare hclparse (one parser, file after file, as a tool
// using hcl directly would). Figures: load_s and bare_s per load, and
// x_bare = load_s / bare_s. Targets: load_s <= 1, x_bare <= 2.5.
//
// The first pass in a process, whichever it is, pays for growing the heap
// (about 0.3 s on the 2-core machine), so both are run once untimed before
// the measured loop; cold_load_s is that first LoadNest, what a fresh
// `gosling validate` sees.
func BenchmarkLoadNest(b *testing.B) {
	dir := b.TempDir()
	files := writeNest(b, dir, 5000, 500)
	load := func() time.Duration {
		start := time.Now()
		nest, _, diags := fly.LoadNest(context.Background(), dir)
		d := time.Since(start)
		if diags.HasErrors() || len(nest.Eggs)+len(nest.Buckets) != 5000 || len(nest.Jobs) != 500 {
			b.Fatalf("load: %s", diags.Error())
		}
		return d
	}
	bareParse := func() time.Duration {
		start := time.Now()
		p := hclparse.NewParser()
		for _, f := range files {
			if _, diags := p.ParseHCLFile(f); diags.HasErrors() {
				b.Fatal(diags.Error())
			}
		}
		return time.Since(start)
	}
	cold := load()
	bareParse()

	var loadSum, bareSum time.Duration
	for b.Loop() {
		loadSum += load()
		b.StopTimer()
		bareSum += bareParse()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(cold.Seconds(), "cold_load_s")
	b.ReportMetric(loadSum.Seconds()/n, "load_s")
	b.ReportMetric(bareSum.Seconds()/n, "bare_s")
	b.ReportMetric(loadSum.Seconds()/bareSum.Seconds(), "x_bare")
}

// writeNest writes a Nest with eggs eggs and buckets and jobs jobs, plus UF
// and MG files, and returns every .fly file.
func writeNest(tb testing.TB, dir string, eggs, jobs int) []string {
	tb.Helper()
	var files []string
	write := func(rel, content string) {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
		files = append(files, path)
	}
	var entities []string
	for i := range eggs {
		name := fmt.Sprintf("egg-%05d", i)
		if i%10 == 9 {
			write("Eggs/"+name+"/config.fly", fmt.Sprintf(benchBucket, name, 2*i+100000, 2*i+100001))
		} else {
			write("Eggs/"+name+"/config.fly", fmt.Sprintf(benchEgg, name, []string{"vm", "serverless"}[i%2], i+1))
		}
		if i%2 == 0 && len(entities) < 200 {
			entities = append(entities, `"`+name+`"`)
		}
	}
	for i := range jobs {
		name := fmt.Sprintf("job-%04d", i)
		write("Jobs/"+name+".fly", fmt.Sprintf(benchJob, name, i%60, i%24))
	}
	write("UF/config.fly", fmt.Sprintf(benchUF, strings.Join(entities, ", ")))
	return files
}

const benchEgg = `# Generated egg.
locals {
  tags = ["docker", "linux"]
}

egg %[1]q {
  type = %[2]q

  cloud {
    provider  = "yandex"
    region    = "ru-central1-a"
    folder_id = "b1gbenchfolder0000000"
  }

  resources {
    cpu    = 2
    memory = 4096
  }

  runner {
    tags             = local.tags
    concurrent       = 2
    idle_timeout     = "15m"
    image            = "cr.yandex/crp0000/gosling-runner:1.4"
    max_job_duration = "45m"
  }

  gitlab {
    server     = "gitlab.com"
    project_id = %[3]d
  }

  environment {
    DOCKER_DRIVER = "overlay2"
    NPM_TOKEN     = "yc-lockbox://e6q8npm00000000000000/token"
  }
}
`

const benchBucket = `eggsbucket %[1]q {
  type = "vm"

  cloud {
    provider = "aws"
    region   = "eu-central-1"
  }

  runner {
    tags = ["docker"]
  }

  repositories {
    repo "api" {
      gitlab {
        server     = "gitlab.com"
        project_id = %[2]d
      }
    }
    repo "team" {
      gitlab {
        server   = "gitlab.internal.net"
        group_id = %[3]d
      }
    }
  }
}
`

const benchJob = `job %q {
  schedule = "%d %d * * *"
  timeout  = "10m"
  script   = <<-EOT
    gosling secrets rotate --all
  EOT

  runner {
    type = "vm"
    tags = ["nest-admin"]
  }
}
`

const benchUF = `uglyfox {
  runners_condition "default" {
    eggs_entities = [%s]
  }

  policies {
    rule "terminate-old-failed" {
      when   = runner.failure_count >= 3 && runner.age > duration("1h")
      action = "terminate"
    }
  }
}
`

// manyBlocks builds one file of n blocks of a kind that one file may hold
// many of: eggs (egg blocks side by side, as ParseFile takes them), rules
// (of one uglyfox), repos (of one eggsbucket).
func manyBlocks(kind string, n int) []byte {
	var b strings.Builder
	switch kind {
	case "eggs":
		// One locals block per file: the eggs use the tags directly.
		egg := strings.Replace(benchEgg, "locals {\n  tags = [\"docker\", \"linux\"]\n}\n", "", 1)
		egg = strings.Replace(egg, "local.tags", `["docker", "linux"]`, 1)
		for i := range n {
			fmt.Fprintf(&b, egg, fmt.Sprintf("egg-%06d", i), "vm", i+1)
		}
	case "rules":
		b.WriteString("uglyfox {\n  policies {\n")
		for i := range n {
			fmt.Fprintf(&b, "    rule \"r-%06d\" {\n      when   = runner.failure_count >= %d && runner.age > duration(\"1h\")\n      action = \"terminate\"\n    }\n", i, i%100+1)
		}
		b.WriteString("  }\n}\n")
	case "repos":
		b.WriteString("eggsbucket \"many\" {\n  type = \"vm\"\n  cloud {\n    provider = \"aws\"\n    region   = \"eu-central-1\"\n  }\n  repositories {\n")
		for i := range n {
			fmt.Fprintf(&b, "    repo \"r-%06d\" {\n      gitlab {\n        server     = \"gitlab.com\"\n        project_id = %d\n      }\n    }\n", i, i+1)
		}
		b.WriteString("  }\n}\n")
	}
	return []byte(b.String())
}

// BenchmarkParseManyBlocks parses and validates one file of 1,000 and of
// 10,000 blocks (see manyBlocks) and reports ns_per_block: equal figures
// for both sizes mean parsing is linear in the number of blocks. Each
// iteration parses the file manyRounds times and keeps the fastest: with
// make bench's one iteration, a single parse of the large file also pays
// for growing the heap and the GC cycles that follow, which a per-block
// figure would show as growth it is not.
func BenchmarkParseManyBlocks(b *testing.B) {
	const manyRounds = 3
	for _, kind := range []string{"eggs", "rules", "repos"} {
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s_%d", kind, n), func(b *testing.B) {
				src := manyBlocks(kind, n)
				if len(src) > fly.MaxFileSize {
					b.Fatalf("%d bytes: over MaxFileSize", len(src))
				}
				var total time.Duration
				for b.Loop() {
					best := time.Duration(1<<63 - 1)
					for range manyRounds {
						start := time.Now()
						_, diags := fly.NewParser().ParseFile(context.Background(), "many.fly", src)
						best = min(best, time.Since(start))
						if diags.HasErrors() {
							b.Fatal(diags[0].Error())
						}
					}
					total += best
				}
				b.ReportMetric(float64(total.Nanoseconds())/float64(b.N)/float64(n), "ns_per_block")
				b.ReportMetric(float64(len(src)), "bytes")
			})
		}
	}
}
