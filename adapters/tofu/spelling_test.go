package tofu_test

import (
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/tofu"
	"github.com/polar-gosling/polar-gosling/domain"
)

// The compute modules' inputs are their own contract (runner_type
// "serverless", "apex" or "nadir"; one module family per provider), and it
// happens to be spelled as the domain spells providers and runner types: a
// runner's values pass to the modules unchanged.
func TestSpec_values_are_spelled_as_the_domain(t *testing.T) {
	for _, c := range [][2]string{
		{string(tofu.Serverless), domain.RunnerServerless.String()},
		{string(tofu.Apex), domain.RunnerApex.String()},
		{string(tofu.Nadir), domain.RunnerNadir.String()},
		{string(tofu.TargetYandex), domain.ProviderYandex.String()},
		{string(tofu.TargetAWS), domain.ProviderAWS.String()},
	} {
		if c[0] != c[1] {
			t.Errorf("tofu spells %q, the domain %q", c[0], c[1])
		}
	}
}
