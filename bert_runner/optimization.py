"""BERT's Adam with decoupled weight decay, as a regular `tf.train.Optimizer`.

The reference `bert.optimization.AdamWeightDecayOptimizer` overrides
`apply_gradients` and assigns variables directly, which distribution
strategies (MirroredStrategy, parameter servers) and loss scaling cannot wrap.
This version computes the same update (no bias correction, weight decay
outside the moment estimates, LayerNorm and bias excluded) through the
optimizer's per-variable hooks, and names its slots `<var>/adam_m` and
`<var>/adam_v` like the reference, so checkpoints stay interchangeable.
"""

import re

import tensorflow.compat.v1 as tf
from tensorflow.python.ops import resource_variable_ops
from tensorflow.python.training import training_ops

_WEIGHT_DECAY_EXCLUDE = ("LayerNorm", "layer_norm", "bias")


class AdamWeightDecayOptimizer(tf.train.Optimizer):
    def __init__(
        self,
        learning_rate,
        weight_decay_rate=0.0,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-6,
        exclude_from_weight_decay=None,
        name="AdamWeightDecayOptimizer",
        bias_correction_step=None,
    ):
        super(AdamWeightDecayOptimizer, self).__init__(use_locking=False, name=name)
        # None: the reference's update, without bias correction. A (1-based) step count:
        # Adam's bias correction, which the reference leaves out (its early steps are then
        # 3-6x larger than Adam's, see bench/README.md "Collapsed NER seeds").
        self.bias_correction_step = bias_correction_step
        self.learning_rate = learning_rate
        self.weight_decay_rate = weight_decay_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.exclude_from_weight_decay = exclude_from_weight_decay

    def _create_slots(self, var_list):
        for var in var_list:
            self._zeros_slot(var, "m", "adam_m")
            self._zeros_slot(var, "v", "adam_v")

    def _apply_dense(self, grad, var):
        return self._update(grad, var)

    def _resource_apply_dense(self, grad, handle):
        return self._update(grad, handle)

    def _resource_apply_sparse(self, grad, handle, indices):
        # Embedding gradients arrive as slices; the reference applies them densely.
        dense = tf.math.unsorted_segment_sum(grad, indices, tf.shape(handle)[0])
        return self._update(dense, handle)

    def _apply_sparse(self, grad, var):
        return self._update(tf.convert_to_tensor(grad), var)

    def _update(self, grad, var):
        """One fused ApplyAdam per variable, with zero beta powers (= no bias correction) unless asked.

        ApplyAdam computes m/(sqrt(v)+eps) in one pass over the variable, where the
        reference's separate ops make five full-size temporaries (a quarter of a
        CPU step for MiniLM). The weight decay, lr * rate * var, is subtracted
        first: it reads the variable before the Adam step, as the reference does.
        """
        m = self.get_slot(var, "m")
        v = self.get_slot(var, "v")
        dtype = var.dtype.base_dtype
        learning_rate = tf.cast(self.learning_rate, dtype)
        decay = []
        if self._use_weight_decay(_variable_name(var)):
            # After the gradient: the forward pass must read the variable undecayed.
            with tf.control_dependencies([grad]):
                decay.append(var.assign_sub(learning_rate * self.weight_decay_rate * var))
        args = list(self._beta_powers(dtype)) + [learning_rate, tf.constant(self.beta_1, dtype),
                tf.constant(self.beta_2, dtype), tf.constant(self.epsilon, dtype), grad]
        with tf.control_dependencies(decay):
            if isinstance(var, resource_variable_ops.BaseResourceVariable):
                return training_ops.resource_apply_adam(var.handle, m.handle, v.handle, *args, use_locking=False)
            return training_ops.apply_adam(var, m, v, *args, use_locking=False).op

    def _beta_powers(self, dtype):
        """ApplyAdam's beta1^t and beta2^t: zero (no correction, the reference) or at the step count."""
        if self.bias_correction_step is None:
            zero = tf.constant(0.0, dtype)
            return zero, zero
        step = tf.cast(self.bias_correction_step, dtype)
        return tf.pow(tf.constant(self.beta_1, dtype), step), tf.pow(tf.constant(self.beta_2, dtype), step)

    def _use_weight_decay(self, name):
        if not self.weight_decay_rate:
            return False
        for pattern in self.exclude_from_weight_decay or ():
            if re.search(pattern, name) is not None:
                return False
        return True


def _variable_name(var):
    match = re.match("^(.*):\\d+$", var.name)
    return match.group(1) if match else var.name


def learning_rate_schedule(init_lr, num_train_steps, num_warmup_steps, global_step):
    """Linear warm-up to `init_lr`, then linear decay to 0 (the reference schedule)."""
    learning_rate = tf.train.polynomial_decay(
        tf.constant(value=init_lr, shape=[], dtype=tf.float32),
        global_step,
        num_train_steps,
        end_learning_rate=0.0,
        power=1.0,
        cycle=False,
    )
    if num_warmup_steps:
        steps = tf.cast(global_step, tf.float32)
        warmup = tf.constant(num_warmup_steps, dtype=tf.float32)
        warmup_rate = init_lr * steps / warmup
        is_warmup = tf.cast(steps < warmup, tf.float32)
        learning_rate = (1.0 - is_warmup) * learning_rate + is_warmup * warmup_rate
    return learning_rate


# The global gradient norm before clipping, for hooks that log it.
GRADIENT_NORM_COLLECTION = "bert_runner_gradient_norm"


def create_optimizer(loss, init_lr, num_train_steps, num_warmup_steps, use_tpu, mixed_precision=False,
                     bias_correction=False, clip_norm=1.0):
    """The reference `create_optimizer` (clip at global norm 1.0), distribution-friendly.

    `mixed_precision` wraps the optimizer in TensorFlow's automatic mixed
    precision graph rewrite (float16 on GPUs with dynamic loss scaling).
    `bias_correction` adds Adam's bias correction, which the reference lacks.
    """
    global_step = tf.train.get_or_create_global_step()
    # The reference increments the step before its learning rate reads it, so
    # step n trains at the rate of step n + 1; do the same, deterministically.
    optimizer = AdamWeightDecayOptimizer(
        learning_rate=learning_rate_schedule(init_lr, num_train_steps, num_warmup_steps, global_step + 1),
        weight_decay_rate=0.01,
        exclude_from_weight_decay=list(_WEIGHT_DECAY_EXCLUDE),
        bias_correction_step=global_step + 1 if bias_correction else None,
    )
    if use_tpu:
        optimizer = tf.tpu.CrossShardOptimizer(optimizer)
    if mixed_precision:
        optimizer = tf.train.experimental.enable_mixed_precision_graph_rewrite(optimizer)
    grads_and_vars = optimizer.compute_gradients(loss, tf.trainable_variables())
    grads, tvars = zip(*grads_and_vars)
    grads, norm = tf.clip_by_global_norm(grads, clip_norm=clip_norm)
    tf.add_to_collection(GRADIENT_NORM_COLLECTION, norm)
    return optimizer.apply_gradients(zip(grads, tvars), global_step=global_step)
