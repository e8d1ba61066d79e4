// Package optim holds dp's optimizers (SGD, AdamW, LAMB), parameter groups
// built from mmengine-style paramwise options, gradient clipping and
// learning-rate schedules.
//
// Optimizers follow torch.optim's update rules (LAMB follows timm's), so a
// run matches PyTorch's numbers step for step up to float32 rounding.
// Optimizer state is exported and restored by name for checkpoints, keyed
// "<state>.<param name>" (e.g. "exp_avg.backbone.patch_embed.proj.weight").
package optim
