// Package finetune trains a VLA (vla/model) on robot demonstrations: the
// engine behind `vla finetune`.
//
// # Data
//
// Config.Data is a LeRobotDataset v3 folder (meta/info.json present; the
// simulator's `vla sim collect` writes one) or a folder of LIBERO-style
// parquet files, whose "image" and "wrist_image" columns become the
// cameras "agentview" and "wrist" of the simulator. The action and state
// dimensions and the cameras come from the data and are checked against
// Config.Embodiment when one is given. The normalization statistics are
// computed from every frame (exact quantiles) and saved with the model.
//
// A sample is one frame: its camera images, its state, its task as the
// instruction and, as the target, the actions of that frame and the
// Horizon−1 frames after it in the same episode, padded with the episode's
// last action (OpenVLA-OFT). Each epoch visits every frame once in an
// order shuffled by a generator seeded with Config.Seed and the epoch
// number; each image is augmented (AugmentConfig) with a generator seeded
// with Config.Seed and the sample's position in that order. Both streams
// are therefore pure functions of the seed and the step.
//
// # Optimization
//
// Each step accumulates the gradients of Config.Batch samples one at a
// time (model.VLA.Accumulate), clips their global norm, and takes an AdamW
// step on the adapters and the head (or, with Config.FullFinetune, on every
// backbone weight and the head) with linear warmup and cosine decay.
//
// # Files
//
// Every Config.CheckpointEvery steps, when ctx ends and at the end, Train
// writes CheckpointDir/checkpoint-<step>/ (the model as model.Save writes
// it, optimizer.safetensors and trainer_state.json with the step, the
// position in the data order and the loss and evaluation history), updates
// loss.csv and loss.png in CheckpointDir, and then rewrites
// CheckpointDir/latest to name the new checkpoint. Every file is written
// to a temporary name and renamed, latest last, so latest always names a
// complete checkpoint. With Config.Resume a run continues from it and
// produces bit for bit the weights and losses of a run never interrupted.
// The final model goes to Config.Out, followed by loss.csv, loss.png and
// (with evaluations) eval.csv.
//
// # Evaluation
//
// With Config.EvalSuite, Config.Evaluate runs the current model as a
// policy in the simulator every Config.EvalEvery steps and at the end;
// the success rates are logged, kept in the trainer state and plotted.
package finetune
