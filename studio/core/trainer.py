"""The transformers Trainer, with checkpoints that are atomic and rotated by the studio, and the
ULMFiT recipe (per-layer-group learning rates, gradual unfreezing, slanted triangular LRs)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from transformers import Trainer, TrainerCallback

from studio.core import checkpoints, schedules
from studio.methods import prefix


class StudioTrainerMixin:
    """What the studio adds to a transformers Trainer (or a TRL trainer built on it, see
    core/preference_trainer.py): checkpoints that appear under checkpoints/ only once complete (see checkpoints.py).

    With `training` (the run's TrainingSpec) it also follows training.ulmfit and the stlr schedule:
    when discriminative_decay or gradual_unfreezing is set, `layer_groups` (from ulmfit_groups,
    computed right after the method is applied) become one AdamW param group per layer group ×
    (decay, no decay), each tagged "layer_group" with lr = learning_rate × its discriminative factor,
    and the scheduler gives every param group exactly schedules.group_learning_rates (0 while its
    layer group is frozen). Each log step records "lr/<group>" per layer group, and learning_rate
    is the top group's. Without ulmfit settings (and without stlr) it is the plain Trainer.
    """

    def __init__(self, *args: Any, run_dir: Path, keep_checkpoints: int,
                 on_checkpoint: Callable[[int, Path, list[int]], None] | None = None,
                 training: Any = None, layer_groups: list[tuple[str, list[str]]] | None = None,
                 save_weights: Callable[[Any, Path], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.model_accepts_loss_kwargs and returns_batch_mean_loss(self.model):
            # A classifier accepts **kwargs but ignores num_items_in_batch and returns the batch mean:
            # the Trainer would then skip dividing by the accumulation steps and multiply by the number
            # of processes, so logged train/eval losses read ×N and gradients ×(accumulation × N).
            self.model_accepts_loss_kwargs = False
        self._seeded_sampler: SeededLengthGroupedSampler | None = None  # set by _get_train_sampler
        self.save_weights = save_weights  # set for our own methods: checkpoints hold trained tensors only
        self.run_dir = Path(run_dir)
        self.keep_checkpoints = keep_checkpoints
        self.on_checkpoint = on_checkpoint
        self.training_spec = training
        ulmfit = getattr(training, "ulmfit", None)
        self.layer_groups = layer_groups if ulmfit is not None and ulmfit.active else None
        self.unfreeze_every: int | None = None
        self._group_lrs: dict[str, float] = {}
        if self.layer_groups is not None:
            if not self.layer_groups:
                raise ValueError("ULMFiT settings need trainable parameters, but the method trains none")
            per_epoch = schedules.optimizer_steps_per_epoch(
                len(self.train_dataset), training.batch_size, training.gradient_accumulation)
            self.unfreeze_every = schedules.unfreeze_interval(
                ulmfit.gradual_unfreezing, ulmfit.unfreeze_every, per_epoch)
            if self.unfreeze_every is not None:
                params = dict(self.model.named_parameters())
                groups = [[params[n] for n in names] for _, names in self.layer_groups]
                self.add_callback(GradualUnfreezing(groups, self.unfreeze_every))

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler).__name__ == "LengthGroupedSampler" and sampler.generator is None:
            # transformers draws its mega-batches from the global RNG, which a resume restores only
            # after the sampler has run: the resumed run skipped the first steps of another order and
            # trained on other batches. Seeded by (data seed, epoch), the order is the same each time.
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            sampler = SeededLengthGroupedSampler(sampler, seed)
            self._seeded_sampler = sampler
        return sampler

    def _run_epoch(self, *args: Any, **kwargs: Any) -> Any:
        # accelerate's set_epoch does not reach a sampler three wrappers deep (a resumed DDP run).
        if self._seeded_sampler is not None and "epoch" in kwargs:
            self._seeded_sampler.set_epoch(kwargs["epoch"])
        return super()._run_epoch(*args, **kwargs)

    @staticmethod
    def ulmfit_groups(model: Any, training: Any) -> list[tuple[str, list[str]]] | None:
        """Layer groups of what the method made trainable, when training.ulmfit needs them (else None).

        Call right after the method is applied, before gradual unfreezing freezes anything."""
        if not training.ulmfit.active:
            return None
        from studio.methods.layers import layer_groups

        return layer_groups(model)

    # --- ULMFiT: optimizer, scheduler, logged learning rates
    def create_optimizer(self, model: Any = None) -> Any:
        if self.layer_groups is None or self.optimizer is not None:
            return super().create_optimizer(model)
        opt_model = self.model if model is None else model
        params = dict(opt_model.named_parameters())
        decay_names = set(self.get_decay_parameter_names(opt_model))
        base_lr, weight_decay = self.args.learning_rate, self.args.weight_decay
        factors = schedules.discriminative_factors(len(self.layer_groups),
                                                   self.training_spec.ulmfit.discriminative_decay)
        groups = []
        for (group, names), factor in zip(self.layer_groups, factors):
            for decays in (True, False):
                chosen = [params[n] for n in names if (n in decay_names) == decays]
                if chosen:  # frozen-for-now groups too: they keep their slot (and state) all run
                    groups.append({"params": chosen, "weight_decay": weight_decay if decays else 0.0,
                                   "lr": base_lr * factor, "layer_group": group})
        if self.optimizer_cls_and_kwargs is not None:
            optimizer_cls, optimizer_kwargs = self.optimizer_cls_and_kwargs
        else:
            optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
        self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return self.optimizer

    def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
        t = self.training_spec
        custom = t is not None and (self.layer_groups is not None or t.schedule == "stlr")
        if not custom or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        from torch.optim.lr_scheduler import LambdaLR

        optimizer = optimizer if optimizer is not None else self.optimizer
        warmup = schedules.warmup_steps(num_training_steps, t.warmup_ratio)
        u = t.ulmfit

        def factor(step: int) -> float:
            return schedules.schedule_factor(t.schedule, step, num_training_steps, warmup,
                                             cut_frac=u.cut_frac, ratio=u.ratio)

        index = {name: i for i, (name, _) in enumerate(self.layer_groups or [])}
        n, every = len(index), self.unfreeze_every

        def group_factor(i: int) -> Callable[[int], float]:
            def f(step: int) -> float:
                return factor(step) if i >= n - schedules.unfrozen_groups(step, n, every) else 0.0
            return f

        lambdas = [group_factor(index[g["layer_group"]]) if g.get("layer_group") in index else factor
                   for g in optimizer.param_groups]
        self.lr_scheduler = LambdaLR(optimizer, lambdas)
        self._created_lr_scheduler = True
        return self.lr_scheduler

    def _get_learning_rate(self) -> float:
        # Called right after optimizer.step(): the rates that step used. Keep every layer group's.
        if self.layer_groups is None:
            return super()._get_learning_rate()
        self._group_lrs = {g["layer_group"]: g["lr"] for g in self.optimizer.param_groups}
        return self._group_lrs[self.layer_groups[-1][0]]

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self.layer_groups is not None and "learning_rate" in logs and self._group_lrs:
            logs.update({f"lr/{name}": self._group_lrs[name] for name, _ in self.layer_groups})
        super().log(logs, start_time)

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        if self.save_weights is None:
            super()._save(output_dir, state_dict)
            # PEFT saves prefix tuning's computed prefix only; resuming needs its MLP too. Only the
            # saving process writes: another rank raced rank 0 to a folder it may not have made yet.
            if self.args.should_save:
                prefix.save_training_state(self.model, Path(output_dir or self.args.output_dir))
            return None
        # Our own methods: a checkpoint holds only what the method trains, not a copy of the base.
        # Every rank calls _save: one writes (two would race on the same files).
        if not self.args.should_save:
            return None
        import torch

        folder = Path(output_dir if output_dir is not None else self.args.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        self.save_weights(self.model, folder)
        if self.processing_class is not None:
            self.processing_class.save_pretrained(folder)
        torch.save(self.args, folder / "training_args.bin")

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
        if self.save_weights is None:
            if prefix.load_training_state(model if model is not None else self.model, Path(resume_from_checkpoint)):
                return None
            return super()._load_from_checkpoint(resume_from_checkpoint, model)
        from studio.methods.saving import load_trained_tensors

        load_trained_tensors(model if model is not None else self.model, Path(resume_from_checkpoint))

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        # The Trainer writes into args.output_dir (the staging folder); we publish it atomically.
        super()._save_checkpoint(model, trial)
        # Several processes: each writes its part (rng_state_R.pth); rank 0 publishes once all have,
        # and nobody goes on (or saves again) before the folder has moved (barriers: no-ops alone).
        self.accelerator.wait_for_everyone()
        if self.is_world_process_zero():
            step = self.state.global_step
            staged = Path(self.args.output_dir) / f"checkpoint-{step}"
            final = checkpoints.publish(staged, self.run_dir, step)
            removed = checkpoints.rotate(self.run_dir, self.keep_checkpoints)
            if self.on_checkpoint:
                self.on_checkpoint(step, final, removed)
        self.accelerator.wait_for_everyone()


def returns_batch_mean_loss(model: Any) -> bool:
    """Whether `model` (or what a PEFT wrapper holds) is a classifier, whose loss is the batch mean."""
    seen = 0
    while model is not None and seen < 4:
        if type(model).__name__.endswith(("ForSequenceClassification", "ForTokenClassification")):
            return True
        model, seen = getattr(model, "base_model", None) or getattr(model, "model", None), seen + 1
    return False


class StudioTrainer(StudioTrainerMixin, Trainer):
    """The transformers Trainer with the studio's checkpoints and ULMFiT recipe (SFT and classification)."""


class SeededLengthGroupedSampler:
    """transformers' LengthGroupedSampler with an order that depends only on (seed, epoch)."""

    def __init__(self, inner: Any, seed: int) -> None:
        self.lengths, self.batch_size = inner.lengths, inner.batch_size
        self.seed, self.epoch = int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Any:
        import torch
        from transformers.trainer_pt_utils import get_length_grouped_indices

        generator = torch.Generator()
        generator.manual_seed(self.seed * 1000003 + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))


class GradualUnfreezing(TrainerCallback):
    """Sets requires_grad per layer group (bottom to top) from schedules.unfrozen_groups.

    Runs at train begin (also right after a resume, when global_step is restored) and at every
    step begin; at train end every group is trainable again, as the method left the model."""

    def __init__(self, groups: list[list[Any]], every: int):
        self.groups, self.every = groups, every

    def set_step(self, step: int) -> None:
        n = len(self.groups)
        training = schedules.unfrozen_groups(step, n, self.every)
        for i, params in enumerate(self.groups):
            for p in params:
                p.requires_grad_(i >= n - training)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.set_step(state.global_step)

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.set_step(state.global_step)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        for params in self.groups:
            for p in params:
                p.requires_grad_(True)


def accuracy_metrics(eval_pred: Any) -> dict[str, float]:
    """Accuracy from argmax predictions (see argmax_logits)."""
    import numpy as np

    preds, labels = eval_pred.predictions, eval_pred.label_ids
    return {"accuracy": float(np.mean(np.asarray(preds) == np.asarray(labels)))}


def argmax_logits(logits: Any, labels: Any) -> Any:
    """Keep only the predicted class, so evaluation does not hold every logit in memory."""
    if isinstance(logits, tuple):
        logits = logits[0]
    return logits.argmax(dim=-1)
