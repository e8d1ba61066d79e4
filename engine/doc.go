// Package engine runs training, validation and testing: the loops, the work
// directory with its logs and checkpoints, resuming, and the metrics that
// score a model during training.
//
// It follows mmengine's Runner: an epoch- or iteration-based loop, a
// validation every val_interval, a checkpoint every interval (keeping the
// last max_keep_ckpts, plus the best by a chosen metric), log lines every
// logger interval, and --resume continuing from last_checkpoint. As in
// mmengine, timing, logging, the learning-rate schedule and checkpoints are
// hooks (Hook, HookRegistry) configured under default_hooks, and a config
// adds more under custom_hooks: EMAHook, CheckInvalidLossHook and
// EarlyStoppingHook.
//
// A seeded run is reproducible to the bit, and so is a resumed one: the
// shuffle and augmentation of each epoch derive from the seed and the epoch,
// the randomness of each training step (dropout, drop-path, sampling) from
// the seed and the iteration, and the learning rate is a closed-form
// function of the iteration. A checkpoint therefore needs only the weights,
// buffers, optimizer state and the position to continue exactly.
package engine
