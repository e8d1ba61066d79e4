package engine

import (
	"slices"
	"testing"

	"github.com/densepred/dp/config"

	_ "github.com/densepred/dp/backbone/snnmlp" // registers SNNMLP for the models below
)

// TestHeadSlots builds models whose head slots name heads of the wrong
// kind or unknown heads: each is an error at the slot's key path naming
// the types allowed there.
func TestHeadSlots(t *testing.T) {
	const det = "model:\n  type: MaskRCNN\n  backbone: {type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], dense: false}\n  neck: {type: FPN, out_channels: 8, num_outs: 5}\n"
	const seg = "model:\n  type: EncoderDecoder\n  backbone: {type: SNNMLP, embed_dim: 4, depths: [1, 1, 1, 1], dense: false}\n"
	tests := []struct{ cfg, want string }{
		{det + "  rpn_head: {type: FCNHead, in_channels: 8}",
			`config: t.yaml:5: model.rpn_head.type: heads type "FCNHead" is one of the segmentation decode heads and cannot be used here; allowed here (RPN heads): RPNHead`},
		{det + "  roi_head: {type: RPNHead}",
			`config: t.yaml:5: model.roi_head.type: heads type "RPNHead" is one of the RPN heads and cannot be used here; allowed here (RoI heads): StandardRoIHead`},
		{det + "  rpn_head: {type: RPNHaed}",
			`config: t.yaml:5: model.rpn_head.type: registry "heads" has no type "RPNHaed" (did you mean "RPNHead"?); if not a typo, ` + notImported + "; registered RPN heads: RPNHead"},
		{seg + "  decode_head: {type: StandardRoIHead, num_classes: 3}",
			`config: t.yaml:4: model.decode_head.type: heads type "StandardRoIHead" is one of the RoI heads and cannot be used here; allowed here (segmentation decode heads): FCNHead, FPNHead, UPerHead`},
		{seg + "  decode_head: {type: FCNHead, in_index: 3, channels: 4, num_classes: 3}\n  auxiliary_head: {type: RPNHead}",
			`config: t.yaml:5: model.auxiliary_head.type: heads type "RPNHead" is one of the RPN heads and cannot be used here; allowed here (segmentation decode heads): FCNHead, FPNHead, UPerHead`},
	}
	for _, tt := range tests {
		_, err := BuildModel(parse(t, tt.cfg))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.cfg, err, tt.want)
		}
	}
}

// TestHeadsRegistry checks that the detection and segmentation heads are
// listed together as the heads registry.
func TestHeadsRegistry(t *testing.T) {
	for _, r := range config.AllRegistries() {
		if r.Name != config.Heads {
			continue
		}
		var names []string
		for _, e := range r.Entries {
			names = append(names, e.Name)
		}
		want := []string{"FCNHead", "FPNHead", "RPNHead", "StandardRoIHead", "UPerHead"}
		if !r.Linked || !slices.Equal(names, want) {
			t.Errorf("heads: linked %v, %q; want %q", r.Linked, names, want)
		}
		return
	}
	t.Error("no heads registry")
}
