package domain

import (
	"slices"
	"strings"
)

// KnownRegions is the one table of the regions and zones a configuration
// may name, per provider. It is kept by hand: a region the table lacks is
// an error until it is added here (and it then shows in
// `gosling validate --explain`).
//
// Yandex Cloud: the regions and their availability zones (ru-central1-c was
// closed). AWS: the region names; an availability zone of a listed region
// (the region followed by one letter, "eu-central-1a") is accepted too.
var KnownRegions = map[CloudProvider][]string{
	ProviderLocal: {"local"},
	ProviderYandex: {
		"ru-central1", "ru-central1-a", "ru-central1-b", "ru-central1-d",
		"kz1", "kz1-a",
	},
	ProviderAWS: {
		"us-east-1", "us-east-2", "us-west-1", "us-west-2",
		"af-south-1",
		"ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
		"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
		"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
		"ca-central-1", "ca-west-1",
		"eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
		"eu-south-1", "eu-south-2", "eu-north-1",
		"il-central-1", "me-south-1", "me-central-1", "mx-central-1", "sa-east-1",
		"us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1",
	},
}

// CheckRegion checks region against KnownRegions of provider.
func CheckRegion(provider CloudProvider, region string) error {
	known, ok := KnownRegions[provider]
	if !ok {
		return invalid("unknown cloud provider %q", provider)
	}
	if slices.Contains(known, region) {
		return nil
	}
	if provider == ProviderAWS && len(region) > 1 {
		if z := region[len(region)-1]; z >= 'a' && z <= 'z' && slices.Contains(known, region[:len(region)-1]) {
			return nil
		}
	}
	return invalid("%q is not a known %s region or zone; known: %s", region, provider, strings.Join(known, ", "))
}
