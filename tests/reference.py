"""Plain NumPy (and plain Python integer) references of every kernel, written
from ALGORITHMS.md independently of the Numba code: the tests compare the
kernels with these, number for number."""

from __future__ import annotations

import math

import numpy as np

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def counter_hash(seed: int, stream: int, step: int, index: int) -> int:
    h = mix64((seed * GOLDEN + stream) & MASK)
    h = mix64((h + step * GOLDEN) & MASK)
    return mix64((h + index * GOLDEN) & MASK)


def gaussian(seed: int, stream: int, step: int, index: int) -> float:
    u1 = ((counter_hash(seed, stream, step, 2 * index) >> 11) + 1) * 2.0**-53
    u2 = ((counter_hash(seed, stream, step, 2 * index + 1) >> 11) + 1) * 2.0**-53
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def gaussians(seed: int, stream: int, step: int, count: int) -> np.ndarray:
    return np.array([gaussian(seed, stream, step, i) for i in range(count)])


def softmax(beta):
    e = np.exp(beta - beta.max())
    return e / e.sum()


def log_softmax(beta):
    top = beta.max()
    return beta - (top + np.log(np.exp(beta - top).sum()))


class ReferenceNetwork:
    """The network of ALGORITHMS.md §1 with one rule, in NumPy, step by step."""

    def __init__(self, spec, state):
        self.spec = spec
        self.n, self.n_in, self.n_out = spec.n_hidden, spec.n_inputs, spec.n_outputs
        p = state["params"].astype(np.float64)
        n, i, o = self.n, self.n_in, self.n_out
        sizes = [n * i, n * n, o * n, n, o]
        parts = np.split(p.copy(), np.cumsum(sizes)[:-1])
        self.A, self.R, self.B = (
            parts[0].reshape(n, i),
            parts[1].reshape(n, n),
            parts[2].reshape(o, n),
        )
        self.b, self.c = parts[3], parts[4]
        self.D = state["decorrelation"].astype(np.float64).copy() if spec.decorrelate else None
        self.x = state["drates"].astype(np.float64).copy()
        self.xn = state.get("noisy_drates", np.zeros(n)).astype(np.float64).copy()
        self.step = int(state["counters"][0])
        self.updates = int(state["counters"][1])
        self.m1 = np.zeros(p.size)
        self.m2 = np.zeros(p.size)
        self.window = []
        self.window_start = None
        self.seed = spec.seed

    # -- pieces -------------------------------------------------------------
    @property
    def flat(self):
        return np.concatenate([self.A.ravel(), self.R.ravel(), self.B.ravel(), self.b, self.c])

    def set_flat(self, flat):
        n, i, o = self.n, self.n_in, self.n_out
        sizes = [n * i, n * n, o * n, n, o]
        parts = np.split(flat, np.cumsum(sizes)[:-1])
        self.A, self.R, self.B = (
            parts[0].reshape(n, i),
            parts[1].reshape(n, n),
            parts[2].reshape(o, n),
        )
        self.b, self.c = parts[3], parts[4]

    def decor(self, x):
        return x.copy() if self.D is None else self.D @ x

    def forward(self, u, prev, weights=None, xi=None, nu=None):
        A, R, B, b, c = weights or (self.A, self.R, self.B, self.b, self.c)
        alpha = A @ u + R @ prev + b + (0 if xi is None else xi)
        x = np.tanh(alpha)
        xs = self.decor(x)
        beta = B @ xs + c + (0 if nu is None else nu)
        y = beta.copy() if self.spec.loss == "mse" else softmax(beta)
        return alpha, x, xs, beta, y

    def loss(self, beta, y, target):
        if self.spec.loss == "mse":
            return float(((y - target) ** 2).sum())
        return float(-(target * log_softmax(beta)).sum())

    def hyper(self, name):
        return self.spec.hyper(name)

    def optimise(self, grad):
        lr = self.hyper("learning_rate")
        flat = self.flat
        self.updates += 1
        if self.hyper("optimizer") == "sgd":
            self.set_flat(flat - lr * grad)
            return
        b1, b2, eps = self.hyper("adam_beta1"), self.hyper("adam_beta2"), self.hyper("adam_eps")
        self.m1 = b1 * self.m1 + (1 - b1) * grad
        self.m2 = b2 * self.m2 + (1 - b2) * grad * grad
        mhat = self.m1 / (1 - b1**self.updates)
        vhat = self.m2 / (1 - b2**self.updates)
        self.set_flat(flat - lr * mhat / (np.sqrt(vhat) + eps))

    def decorrelation_step(self, xs):
        eps = self.hyper("decorrelation_rate")
        delta = (np.outer(xs, xs) - np.diag(xs**2)) @ self.D  # Eq. 6 as written
        self.D = self.D - eps * delta

    # -- rules --------------------------------------------------------------
    def estimate(self, u, target):
        """One step of NP/ANP/WP: returns (grad estimate or None, losses, outputs, new states)."""
        rule, sigma, seed, step = self.spec.rule, self.hyper("sigma"), self.seed, self.step
        alpha, x, xs, beta, y = self.forward(u, self.x)
        if rule == "wp":
            z = gaussians(seed, 3, step, self.flat.size)
            noisy_flat = self.flat + sigma * z
            n, i, o = self.n, self.n_in, self.n_out
            sizes = [n * i, n * n, o * n, n, o]
            parts = np.split(noisy_flat, np.cumsum(sizes)[:-1])
            weights = (parts[0].reshape(n, i), parts[1].reshape(n, n), parts[2].reshape(o, n),
                       parts[3], parts[4])  # fmt: skip
            nalpha, nx, nxs, nbeta, ny = self.forward(u, self.xn, weights=weights)
        else:
            xi = sigma * gaussians(seed, 1, step, self.n)
            nu = sigma * gaussians(seed, 2, step, self.n_out)
            nalpha, nx, nxs, nbeta, ny = self.forward(u, self.xn, xi=xi, nu=nu)
        grad = None
        loss = noisy_loss = float("nan")
        if target is not None:
            loss = self.loss(beta, y, target)
            noisy_loss = self.loss(nbeta, ny, target)
            dl = noisy_loss - loss
            if rule == "wp":
                grad = dl / sigma**2 * (sigma * z)
            else:
                if rule == "np":
                    hs = dl / sigma**2 * xi
                    os_ = dl / sigma**2 * nu
                else:  # anp
                    scale = self.hyper("anp_scale")
                    floor = self.hyper("anp_floor")
                    da, db = nalpha - alpha, nbeta - beta
                    hs = scale * dl * da / (da @ da) if da @ da > floor else 0 * da
                    os_ = scale * dl * db / (db @ db) if db @ db > floor else 0 * db
                grad = np.concatenate([np.outer(hs, u).ravel(), np.outer(hs, self.x).ravel(),
                                       np.outer(os_, xs).ravel(), hs, os_])  # fmt: skip
        return grad, loss, noisy_loss, y, xs, nxs

    def train_step(self, u, target):
        grad, loss, noisy_loss, y, xs, nxs = self.estimate(u, target)
        if grad is not None:
            self.optimise(grad)
        self.x, self.xn = xs, nxs
        if self.D is not None:
            self.decorrelation_step(self.x)
        self.step += 1
        every = self.hyper("resync_every") if self.spec.rule != "bptt" else 0
        if every and self.step % every == 0:
            self.xn = self.x.copy()
        return loss, y

    def predict_step(self, u, target):
        alpha, x, xs, beta, y = self.forward(u, self.x)
        self.x = xs
        return (self.loss(beta, y, target) if target is not None else float("nan")), y

    # -- BPTT -----------------------------------------------------------------
    def window_loss(self, flat, start, steps):
        """Mean loss over the window's target steps as a function of the weights."""
        saved = self.flat
        self.set_flat(flat)
        prev, total, count = start, 0.0, 0
        for u, target, reset in steps:
            if reset:
                prev = np.zeros(self.n)
            alpha, x, xs, beta, y = self.forward(u, prev)
            if target is not None:
                total += self.loss(beta, y, target)
                count += 1
            prev = xs
        self.set_flat(saved)
        return total / count if count else 0.0

    def window_gradient(self, start, steps):
        """Analytic gradient of ``window_loss`` (backward pass over the window);
        returns (gradient or None, the rates x of each step)."""
        prev, records = start, []
        for u, target, reset in steps:
            if reset:
                prev = np.zeros(self.n)
            alpha, x, xs, beta, y = self.forward(u, prev)
            records.append((u, target, reset, prev, x, xs, y))
            prev = xs
        count = sum(t is not None for _, t, _ in steps)
        if not count:
            return None, [r[4] for r in records]
        gA, gR, gB = np.zeros_like(self.A), np.zeros_like(self.R), np.zeros_like(self.B)
        gb, gc = np.zeros_like(self.b), np.zeros_like(self.c)
        carry = np.zeros(self.n)
        for u, target, reset, prev, x, xs, y in reversed(records):
            d_xs = carry.copy()
            if target is not None:
                d_beta = (2 * (y - target) if self.spec.loss == "mse" else y - target) / count
                gB += np.outer(d_beta, xs)
                gc += d_beta
                d_xs += self.B.T @ d_beta
            d_x = d_xs if self.D is None else self.D.T @ d_xs
            d_alpha = d_x * (1 - x**2)
            gA += np.outer(d_alpha, u)
            gR += np.outer(d_alpha, prev)
            gb += d_alpha
            carry = np.zeros(self.n) if reset else self.R.T @ d_alpha
        grad = np.concatenate([gA.ravel(), gR.ravel(), gB.ravel(), gb, gc])
        return grad, [r[4] for r in records]

    def bptt_step(self, u, target, reset):
        if not self.window:
            self.window_start = self.x.copy()
        loss, y = self.predict_step(u, target)
        self.window.append((u, target, reset))
        self.step += 1
        if len(self.window) == self.hyper("window"):
            grad, rates = self.window_gradient(self.window_start, self.window)
            if grad is not None:
                self.optimise(grad)
            if self.D is not None:
                for x in rates:
                    self.decorrelation_step(self.D @ x)
            self.window = []
        return loss, y


def numeric_gradient(f, flat, eps=1e-6):
    grad = np.zeros_like(flat)
    for p in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[p] += eps
        down[p] -= eps
        grad[p] = (f(up) - f(down)) / (2 * eps)
    return grad


def one_step_gradient(net: ReferenceNetwork, u, target):
    """True gradient of l_t w.r.t. (A, R, B, b, c) from the state net.x, held fixed."""
    alpha, x, xs, beta, y = net.forward(u, net.x)
    if net.spec.loss == "mse":
        d_beta = 2 * (y - target)
    else:
        d_beta = y - target
    d_xs = net.B.T @ d_beta
    d_x = d_xs if net.D is None else net.D.T @ d_xs
    d_alpha = d_x * (1 - x**2)
    return np.concatenate([np.outer(d_alpha, u).ravel(), np.outer(d_alpha, net.x).ravel(),
                           np.outer(d_beta, xs).ravel(), d_alpha, d_beta])  # fmt: skip


def decay_scale(every, factor, after, step):
    """The learning rates' factor at learning step ``step`` (0-based): 1 for
    the first ``after`` steps, then ``factor`` once more every ``every``
    steps counted from there (every = 0: 1)."""
    if every == 0 or step < after:
        return 1.0
    return factor ** ((step - after) // every)


class ReferenceGLE:
    """GLE (ALGORITHMS.md §2) in plain NumPy float64, in the paper's form
    (du/dt, dv/dt), synchronous schedule: every layer reads its neighbours'
    values of the previous Euler step."""

    def __init__(self, sizes, Ws, bs, tau_m, tau_r, *, dt, beta, gamma=0.0, eta=0.0,
                 eta_tau=0.0, tau_min=0.0, tau_max=np.inf, xent=False,
                 recurrent=False, linear_first=False, adam=None, decay=(0, 1.0, 0)):  # fmt: skip
        self.sizes = list(sizes)
        # decay = (every, factor, after): eta steps down (decay_scale).
        self.decay = decay
        # adam = (beta1, beta2, eps): the weights and biases take textbook
        # Adam steps of size eta from g = -dt e pre^T (-dt e), one per step.
        self.adam, self.updates = adam, 0
        self.moments = [[np.zeros_like(p) for p in (*Ws, *bs)] for _ in range(2)]
        self.linear_first = linear_first  # the first hidden layer's phi is the identity
        self.recurrent = recurrent  # hidden layers also read their own previous rates
        self.W = [w.astype(float).copy() for w in Ws]
        self.b = [b.astype(float).copy() for b in bs]
        splits = np.cumsum(self.sizes[1:])[:-1]
        self.tau_m = [t.copy() for t in np.split(np.asarray(tau_m, float), splits)]
        self.tau_r = [t.copy() for t in np.split(np.asarray(tau_r, float), splits)]
        self.u = [np.zeros(n) for n in self.sizes[1:]]
        self.v = [np.zeros(n) for n in self.sizes[1:]]
        self.r = [np.zeros(n) for n in self.sizes[1:]]
        self.e = [np.zeros(n) for n in self.sizes[1:]]
        self.slope = [np.ones(n) for n in self.sizes[1:]]
        self.dt, self.beta, self.gamma, self.eta, self.eta_tau = dt, beta, gamma, eta, eta_tau
        self.tau_min, self.tau_max, self.xent = tau_min, tau_max, xent

    def step(self, x, target=None, learn=True):
        L = len(self.W)
        pre = [np.asarray(x, float)] + self.r[:-1]
        if self.recurrent:
            pre = [np.concatenate([pre[k], self.r[k]]) if k < L - 1 else pre[k]
                   for k in range(L)]  # fmt: skip
        udot, r_new, slope_new, e_new, s_new = [], [], [], [], []
        for k in range(L):
            drive = self.W[k] @ pre[k] + self.b[k] + self.gamma * self.e[k]
            ud = (-self.u[k] + drive) / self.tau_m[k]
            u_hat = self.u[k] + self.tau_r[k] * ud
            if k == L - 1 or (k == 0 and self.linear_first):
                r, slope = u_hat, np.ones_like(u_hat)
            else:
                r = np.tanh(u_hat)
                slope = 1 - r * r
            self.u[k] = self.u[k] + self.dt * ud
            udot.append(ud)
            r_new.append(r)
            slope_new.append(slope)
        for k in range(L - 1):
            n = self.sizes[k + 1]
            back = self.W[k + 1][:, :n].T @ self.e[k + 1]
            if self.recurrent:  # W_k's last n columns read this layer's own rates
                back = back + self.W[k][:, -n:].T @ self.e[k]
            s = self.slope[k] * back
            vd = (-self.v[k] + s) / self.tau_r[k]
            e_new.append(self.v[k] + self.tau_m[k] * vd)
            self.v[k] = self.v[k] + self.dt * vd
            s_new.append(s)
        y = softmax(r_new[-1]) if self.xent else r_new[-1]
        if target is None:
            e_out, loss = np.zeros_like(y), float("nan")
        else:
            target = np.asarray(target, float)
            e_out = self.beta * (target - y)
            loss = (float(-(target * log_softmax(r_new[-1])).sum()) if self.xent
                    else float(((y - target) ** 2).sum()))  # fmt: skip
        e_new.append(e_out)
        s_new.append(e_out)
        if learn:
            eta = self.eta * decay_scale(*self.decay, self.updates)
            self.updates += 1
            for k in range(L):
                if self.adam is None:
                    self.W[k] += eta * self.dt * np.outer(e_new[k], pre[k])
                    self.b[k] += eta * self.dt * e_new[k]
                else:
                    self.W[k] -= self._adam_step(k, -self.dt * np.outer(e_new[k], pre[k]), eta)
                    self.b[k] -= self._adam_step(L + k, -self.dt * e_new[k], eta)
                du = self.dt * udot[k]
                self.tau_m[k] = np.clip(self.tau_m[k] - self.eta_tau * e_new[k] * du,
                                        self.tau_min, self.tau_max)  # fmt: skip
                self.tau_r[k] = np.clip(self.tau_r[k] + self.eta_tau * s_new[k] * du,
                                        self.tau_min, self.tau_max)  # fmt: skip
        self.r, self.slope, self.e = r_new, slope_new, e_new
        return y, loss

    def _adam_step(self, index, grad, eta):
        b1, b2, eps = self.adam
        m1, m2 = self.moments
        m1[index] = b1 * m1[index] + (1 - b1) * grad
        m2[index] = b2 * m2[index] + (1 - b2) * grad * grad
        mhat = m1[index] / (1 - b1**self.updates)
        vhat = m2[index] / (1 - b2**self.updates)
        return eta * mhat / (np.sqrt(vhat) + eps)


def backprop_errors(Ws, bs, x, target, beta):
    """A layered tanh network with a linear output at rest (static input):
    the errors -d(beta/2 ||y* - y||^2)/d(pre-activation) of every layer, and
    the rates, by plain backpropagation."""
    rates, pres = [np.asarray(x, float)], []
    for k, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        a = W @ rates[-1] + b
        pres.append(a)
        rates.append(a if k == len(Ws) - 1 else np.tanh(a))
    errors = [beta * (np.asarray(target, float) - rates[-1])]
    for k in range(len(Ws) - 2, -1, -1):
        errors.insert(0, (1 - rates[k + 1] ** 2) * (Ws[k + 1].T @ errors[0]))
    return errors, rates


class ReferenceTargetProp:
    """TPTT and LRA-diff over a window of the last K steps (ALGORITHMS.md §3),
    step by step with NumPy matrices and a deque as the window."""

    def __init__(self, spec, params_views, *, step=0):
        from collections import deque

        self.rule = spec.rule
        self.W = {name: np.array(value, dtype=float) for name, value in params_views.items()}
        hyper = spec.hyper
        self.alpha = hyper("target_step")
        self.rates = hyper("learning_rate"), hyper("readout_rate")
        self.decay = hyper("decay_every"), hyper("decay_factor"), hyper("decay_after")
        self.linear = hyper("linear") == 1
        self.xent = spec.loss == "xent"
        self.seed = spec.seed
        if self.rule == "tptt":
            self.eta_inv = hyper("inverse_rate")
            self.decay_inverse = hyper("decay_inverse") == 1
            self.sigma = hyper("sigma")
            self.warmup = hyper("inverse_warmup")
        else:
            self.log_loss = hyper("local_loss") == "log"
            self.clip = hyper("norm_clip")
            self.lam = hyper("regularize")
        self.window = deque(maxlen=hyper("window"))
        self.oldest_only = hyper("update") == "oldest"
        self.h = np.zeros(spec.n_hidden)
        self.start = np.zeros(spec.n_hidden)
        self.step_count = step

    def phi(self, z):
        return z if self.linear else np.tanh(z)

    def slope(self, rates):
        return np.ones_like(rates) if self.linear else 1 - rates**2

    def F(self, x, h):
        W = self.W
        return self.phi(W["W_xh"] @ x + W["W_h"] @ h + W["b_h"])

    def G(self, x, h):
        W = self.W
        return self.phi(W["V_h"] @ h + W["W_xh"] @ x + W["c_h"])

    def step(self, x, target, reset=False):
        """One learning step; returns (outputs, loss or None)."""
        W = self.W
        scale = decay_scale(*self.decay, self.step_count)
        self.eta, self.eta_y = (rate * scale for rate in self.rates)
        if self.rule == "tptt":
            self.eta_g = self.eta_inv * (scale if self.decay_inverse else 1.0)
        if reset:
            self.h = np.zeros_like(self.h)
        if not self.window:
            self.start = self.h.copy()
        h = self.F(x, self.h)
        self.h = h
        logits = W["W_hy"] @ h + W["b_y"]
        y = softmax(logits) if self.xent else logits
        if target is None:
            g, loss = np.zeros_like(y), None
        elif self.xent:
            g, loss = y - target, float(-(target * log_softmax(logits)).sum())
        else:
            g, loss = 2 * (y - target), float(((y - target) ** 2).sum())
        offset = -self.alpha * (W["W_hy"].T @ g)
        if self.rule == "lra":
            offset = offset * self.slope(h)
        if len(self.window) == self.window.maxlen:
            self.start = self.window[0]["h"]
        self.window.append({"x": np.array(x, float), "h": h, "o": offset, "reset": bool(reset)})
        warming = self.rule == "tptt" and self.step_count < self.warmup
        if not warming:
            W["W_hy"] -= self.eta_y * np.outer(g, h)
            W["b_y"] -= self.eta_y * g
        entries = list(self.window)
        prevs = []
        for j, entry in enumerate(entries):
            if entry["reset"]:
                prevs.append(np.zeros_like(h))
            else:
                prevs.append(self.start if j == 0 else entries[j - 1]["h"])
        if self.rule == "tptt":
            if not warming:
                self._tptt(entries, prevs)
            self._inverse(entries[-1], prevs[-1])
        else:
            self._lra(entries, prevs)
        self.step_count += 1
        return y, loss

    def learning(self, entries):
        """Indices of the entries that learn: all, or the oldest of a full window."""
        if not self.oldest_only:
            return range(len(entries))
        return range(1) if len(entries) == self.window.maxlen else range(0)

    def tptt_targets(self, entries):
        goals = [None] * len(entries)
        for j in range(len(entries) - 1, -1, -1):
            goal = entries[j]["h"] + entries[j]["o"]
            if j < len(entries) - 1 and not entries[j + 1]["reset"]:
                later = entries[j + 1]
                goal = goal + self.G(later["x"], goals[j + 1]) - self.G(later["x"], later["h"])
            goals[j] = goal
        return goals

    def _tptt(self, entries, prevs):
        W = self.W
        goals = self.tptt_targets(entries)
        for j in self.learning(entries):
            entry, prev, goal = entries[j], prevs[j], goals[j]
            f = self.F(entry["x"], prev)
            delta = (f - goal) * self.slope(f)
            W["W_h"] -= self.eta * np.outer(delta, prev)
            W["b_h"] -= self.eta * delta
            W["W_xh"] -= self.eta * np.outer(delta, entry["x"])

    def _inverse(self, entry, prev):
        W = self.W
        noisy = prev + self.sigma * gaussians(self.seed, 5, self.step_count, prev.shape[0])
        f = self.F(entry["x"], noisy)
        rebuilt = self.G(entry["x"], f)
        delta = (rebuilt - noisy) * self.slope(rebuilt)
        W["V_h"] -= self.eta_g * np.outer(delta, f)
        W["c_h"] -= self.eta_g * delta

    def _lra(self, entries, prevs):
        W = self.W
        m = len(entries)
        errors, boosts, pairs = [None] * m, [1.0] * m, [None] * m
        for j in range(m - 1, -1, -1):
            shift = entries[j]["o"]
            if j < m - 1 and not entries[j + 1]["reset"]:
                later = errors[j + 1]
                slope = self.slope(entries[j]["h"])
                d = (W["W_h"].T @ later) * slope
                norm_d, norm_e = np.sqrt(np.sum(d * d)), np.sqrt(np.sum(later * later))
                if self.lam and norm_d > 0 and norm_e > 0:
                    rho = norm_d / norm_e
                    pairs[j] = (later / norm_e, (d / norm_d * slope) * (2 * (rho - 1)))
                    boosts[j] = min(max(norm_e / norm_d, 1.0), 10.0)
                if self.clip > 0 and norm_d > self.clip:
                    d = d * self.clip / norm_d
                shift = shift - self.alpha * d
            u = -shift
            errors[j] = 2 * u / (1 + u**2) if self.log_loss else u
        for j in self.learning(entries):
            e, prev, x = errors[j], prevs[j], entries[j]["x"]
            W["W_h"] -= self.eta * np.outer(e, prev)
            W["b_h"] -= self.eta * e
            W["W_xh"] -= self.eta * boosts[j] * np.outer(e, x)
            if pairs[j] is not None:
                unit, presyn = pairs[j]
                W["W_h"] -= self.eta * self.lam * np.outer(unit, presyn)
