"""The ``timelocal`` command line: a thin layer over the Python API
(DESIGN.md, Command line). Errors are one sentence: exit 2 for a usage
problem (options, stream URL, missing file), 1 for a failure during the run;
``--debug`` shows the traceback instead."""

from __future__ import annotations

import json
import math
import signal
import sys
import time

import click
from click.core import ParameterSource
from timelocal import __version__
from timelocal.runtime.errors import CheckpointError, TimelocalError
from timelocal.runtime.metrics import PredictionWriter
from timelocal.runtime.network import TARGETS, Network
from timelocal.runtime.session import Progress, RunOptions, Session
from timelocal.runtime.spec import (
    HYPER_PARAMETERS,
    LOSSES,
    PRECISIONS,
    PRESETS,
    RULES,
    TUNABLE,
    NetworkSpec,
)
from timelocal.streams import STREAM_KINDS, open_stream
from timelocal.streams.registry import SYNTHETIC, synthetic_options

EXIT_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="timelocal")
def main():
    """Strictly time-local online learning in recurrent networks.

    A network learns while a stream of samples flows through it, one time
    step at a time: no unrolling, no stored history, no second phase.

    \b
    Start with:
      timelocal run --rule anp --decorrelate --stream synth:mackey-glass
      timelocal rules      the learning rules and their hyper-parameters
      timelocal streams    the stream kinds and their options
    """


class ProgressLine:
    """A one-line progress display on stderr: redrawn at most 10 times a
    second on a terminal, one line per 10% of the run otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.started = time.perf_counter()
        self.last_draw = 0.0
        self.last_decile = -1
        self.drawn = False

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        fraction = p.done / p.total if p.total else None
        if self.tty:
            if now - self.last_draw < 0.1 and (fraction is None or fraction < 1):
                return
            self.last_draw = now
        else:
            decile = int(10 * fraction) if fraction is not None else p.done // 100_000
            if decile == self.last_decile:
                return
            self.last_decile = decile
        rate = p.done / max(now - self.started, 1e-9)
        if fraction is not None:
            width = 24
            filled = int(width * fraction)
            eta = (p.total - p.done) / rate if rate else float("nan")
            text = (
                f"[{'#' * filled}{'.' * (width - filled)}] {100 * fraction:3.0f}% "
                f"{p.done}/{p.total} steps  {rate:,.0f} steps/s  loss {p.loss:.4g}  "
                f"ETA {eta:.0f}s"
            )
        else:
            text = f"{p.done} steps  {rate:,.0f} steps/s  loss {p.loss:.4g}"
        if self.tty:
            click.echo("\r" + text.ljust(100)[:100], nl=False, err=True)
            self.drawn = True
        else:
            click.echo(text, err=True)

    def close(self) -> None:
        if self.drawn:
            click.echo(err=True)


class Every(click.ParamType):
    """N (steps), Ns (seconds) or Nm (minutes) -> (steps, seconds)."""

    name = "every"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip().lower()
        scale = {"s": 1.0, "m": 60.0}.get(text[-1:]) if text else None
        try:
            number = float(text[:-1]) if scale else int(text)
        except ValueError:
            self.fail(f"{value!r} is not N (steps), Ns (seconds) or Nm (minutes)", param, ctx)
        if number <= 0:
            self.fail(f"{value!r} must be positive", param, ctx)
        return (None, number * scale) if scale else (number, None)


def _parse_params(values: tuple[str, ...]) -> dict:
    params = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--param takes NAME=VALUE, got {item!r}")
        params[name.strip()] = value.strip()
    return params


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE


@main.command(context_settings={"show_default": True})
@click.option(
    "--rule",
    type=click.Choice(list(RULES)),
    help="Learning rule (see `timelocal rules`). Required unless --resume.",
)  # noqa: E501
@click.option(
    "--decorrelate/--no-decorrelate",
    default=False,
    help="Learn a decorrelation matrix D on the hidden layer (DNP, DANP, DWP).",
)  # noqa: E501
@click.option(
    "--stream",
    "stream_url",
    required=True,
    metavar="URL",
    help="synth:NAME[?opt=v&...], file:PATH.csv, file:PATH.npy, or - for stdin (see `timelocal streams`).",
)  # noqa: E501
@click.option(
    "--target",
    type=click.Choice(list(TARGETS)),
    default="host",
    help="host: a compiled loop per chunk; lava: Lava processes on Lava's CPU simulator "
    "(np, anp, wp, gle, tptt, lra; float64 or fixed point).",
)  # noqa: E501
@click.option(
    "--precision",
    default="float64",
    metavar="NAME|fixed:...",
    help="Arithmetic: float64, float32, fixed16, loihi8, or fixed:w=16.12,a=16.12,e=32.24,"
    "g=32.24,acc=32[,rounding=nearest][,shared=1] (BITS.FRAC per class: weights, states, "
    "errors, signals). Fixed point runs SGD, MSE, perturbation rules; `timelocal rules` "
    "lists the formats.",
)  # noqa: E501
@click.option("--hidden", type=click.IntRange(min=1), default=100, help="Hidden units.")
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=None,
    help="Stop training after N steps in total (counting steps before --resume). Default: the whole stream.",
)  # noqa: E501
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    help="Seed of the weights and of every noise draw.",
)  # noqa: E501
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a hyper-parameter, e.g. -p learning_rate=1e-3 (repeatable; `timelocal rules` lists them).",
)  # noqa: E501
@click.option(
    "--window",
    type=click.IntRange(min=1),
    default=None,
    metavar="K",
    help="TPTT, LRA: the sliding window of steps targets propagate through (1: strictly local; default 8); BPTT: its truncation window. Same as -p window=K.",
)  # noqa: E501
@click.option(
    "--regularize",
    type=click.FloatRange(min=0),
    default=None,
    metavar="LAMBDA",
    help="LRA: regularise in the direction of the update with coefficient LAMBDA (0: plain LRA-diff). Same as -p regularize=LAMBDA.",
)  # noqa: E501
@click.option(
    "--inputs",
    "n_inputs",
    type=click.IntRange(min=1),
    default=None,
    help="File/stdin streams: how many leading columns are inputs.",
)  # noqa: E501
@click.option(
    "--outputs",
    "n_outputs",
    type=click.IntRange(min=1),
    default=None,
    help="File/stdin streams: how many columns are targets (default: the rest).",
)  # noqa: E501
@click.option(
    "--loss",
    type=click.Choice(list(LOSSES)),
    default=None,
    help="File/stdin streams: mse (regression) or xent (softmax classification). Default: mse. A synthetic classification task also takes mse (squared error on its one-hot targets, as fixed point needs; accuracy is still the argmax).",
)  # noqa: E501
@click.option(
    "--on-bad-input",
    type=click.Choice(["skip", "stop"]),
    default="skip",
    help="A malformed line, NaN/inf, a wrong width or a frame failing its CRC: skip it and count it in bad_samples (by kind, with a warning at most once a second), or stop with the line number. Bad samples never reach the network. Gaps (jumps in frame sequence numbers or timestamps) are counted, never stop the run.",
)  # noqa: E501
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the learned state here at the end of training (atomically).",
)  # noqa: E501
@click.option(
    "--checkpoint-every",
    type=Every(),
    default=None,
    metavar="N|Ns|Nm",
    help="Also write --checkpoint every N training steps, or every N seconds (30s) or minutes (5m).",
)  # noqa: E501
@click.option(
    "--resume",
    type=click.Path(dir_okay=False),
    default=None,
    help="Continue from a checkpoint: its network, and the stream from where it stopped. -p may change its learning rates and their schedule (learning_rate, decay_after, ...; `timelocal rules --json` marks them tunable), nothing else.",
)  # noqa: E501
@click.option(
    "--metrics",
    type=click.Path(dir_okay=False),
    default=None,
    help="Append metrics every --metrics-every steps: JSON lines, or CSV for a .csv path.",
)  # noqa: E501
@click.option(
    "--metrics-every", type=click.IntRange(min=1), default=1000, help="Steps per metrics record."
)  # noqa: E501
@click.option(
    "--chunk-size", type=click.IntRange(min=1), default=1000, help="Steps per compiled chunk."
)  # noqa: E501
@click.option(
    "--max-latency-ms",
    type=click.FloatRange(min=0.1),
    default=20.0,
    help="Live streams (serial, socket, stdin): hand a sample to the network after at most this wait for its chunk to fill. Worst case from a sample's last byte to its prediction: this + 20 ms polling + the chunk's compute time.",
)  # noqa: E501
@click.option(
    "--reconnect",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="Device streams: when the device is lost (or silent for the URL's timeout=), reopen it with back-off for up to SECONDS, then stop with the checkpoint written (exit 1). 0: stop at once.",
)  # noqa: E501
@click.option(
    "--predictions",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    metavar="PATH|-",
    help="Write every step's outputs as CSV (step,phase,y_1..y_m), flushed after every chunk; - for stdout (the summary then goes to stderr).",
)  # noqa: E501
@click.option("--no-test", is_flag=True, help="Skip the stream's test part.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the summary as one JSON object on the last line of stdout.",
)  # noqa: E501
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def run(ctx, rule, decorrelate, stream_url, target, precision, hidden, steps, seed, params,
        window, regularize, n_inputs, n_outputs, loss, on_bad_input, checkpoint, checkpoint_every, resume, metrics,
        metrics_every, chunk_size, max_latency_ms, reconnect, predictions, no_test, as_json,
        quiet, debug):  # fmt: skip
    """Stream samples into a learning network and report the losses.

    \b
    Examples:
      timelocal run --rule anp --decorrelate --stream synth:mackey-glass
      timelocal run --rule np --stream "synth:copy-memory?length=10&delay=5"
      timelocal run --rule tptt --window 16 --hidden 128 --stream "synth:copy-memory?delay=10"
      timelocal run --rule lra --regularize 0.5 --stream "synth:temporal-order?T=20"
      timelocal run --rule anp --stream file:sensor.csv --inputs 3 --checkpoint net.npz
      timelocal run --resume net.npz --stream file:sensor.csv --inputs 3 --steps 20000
      timelocal run --rule anp --stream "serial:///dev/ttyUSB0?baud=115200" \\
          --inputs 3 --outputs 1 --reconnect 60 --checkpoint net.npz --checkpoint-every 30s \\
          --predictions -

    Steps without a target run forward and learn nothing but D. A live stream
    (device, stdin) runs until it ends, --steps is reached, or Ctrl-C: the
    current chunk is finished, the checkpoint written, the summary printed
    (exit 130 for SIGINT, 143 for SIGTERM). On --resume a file is read from
    where the checkpoint stopped; a live stream continues with what arrives.
    """
    params = params + tuple(f"{name}={value}" for name, value in
                            (("window", window), ("regularize", regularize)) if value is not None)  # fmt: skip
    try:
        network, stream, meta = _prepare(
            ctx, rule, decorrelate, stream_url, target, precision, hidden, seed, params,
            n_inputs, n_outputs, loss, on_bad_input, resume, reconnect, max_latency_ms / 1000,
        )  # fmt: skip
    except click.UsageError:
        raise
    except TimelocalError as exc:
        if debug:
            raise
        raise click.UsageError(str(exc)) from None
    if checkpoint_every and not checkpoint:
        stream.close()
        network.close()
        raise click.UsageError("--checkpoint-every needs --checkpoint PATH")
    every_steps, every_seconds = checkpoint_every or (None, None)
    try:
        writer = PredictionWriter(predictions, stream.n_outputs) if predictions else None
    except TimelocalError as exc:
        stream.close()
        network.close()
        raise click.UsageError(str(exc)) from None
    options = RunOptions(
        steps=steps, chunk_size=chunk_size, metrics_path=metrics, metrics_every=metrics_every,
        checkpoint_path=checkpoint, checkpoint_every=every_steps,
        checkpoint_every_s=every_seconds, evaluate=not no_test, predictions=writer,
    )  # fmt: skip
    progress = ProgressLine(enabled=not quiet)
    if stream.info.get("layout") and not quiet:
        click.echo(f"{stream.url}: {stream.info['layout']}", err=True)
    if stream.live and not quiet:
        click.echo(
            f"reading {stream.url} ({stream.n_inputs} inputs, {stream.n_outputs} outputs) as it "
            "arrives; Ctrl-C stops after the current chunk and keeps the checkpoint",
            err=True,
        )
    session = Session(network, stream, options, resume_meta=meta, progress=progress)
    received = []

    def stop_after_chunk(signum, _frame):
        received.append(signum)
        session.stop_requested = True

    previous = {s: signal.signal(s, stop_after_chunk) for s in EXIT_SIGNAL}
    try:
        summary = session.run()
    except TimelocalError as exc:
        if debug:
            raise
        raise click.ClickException(str(exc)) from None
    finally:
        progress.close()
        stream.close()
        # Lava: stop the runtime whatever happened (the checkpoint, if any,
        # was written from the Vars by the session).
        network.close()
        if writer is not None:
            writer.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    _report(summary, stream, as_json, human_to_stderr=predictions == "-")
    if received:
        ctx.exit(EXIT_SIGNAL[received[0]])
    if summary["stream_end"]:
        ctx.exit(1)


def _prepare(ctx, rule, decorrelate, stream_url, target, precision, hidden, seed, params,
             n_inputs, n_outputs, loss, on_bad_input, resume, reconnect, max_latency):  # fmt: skip
    live = {"reconnect": reconnect, "max_latency": max_latency}
    meta = None
    if resume:
        network = Network.load(resume, target=target, params=_parse_params(params))
        spec, saved = network.spec, network.checkpoint_spec
        meta = network.checkpoint_meta
        fixed = {"rule": spec.rule, "decorrelate": spec.decorrelate, "precision": spec.precision,
                 "hidden": spec.n_hidden, "seed": spec.seed}  # fmt: skip
        for name, value in fixed.items():
            if _given(ctx, name) and ctx.params[name] != value:
                network.close()
                raise click.UsageError(
                    f"--{name} {ctx.params[name]} differs from the checkpoint {resume} "
                    f"({value}); leave it out when resuming"
                )
        for name in sorted(set(spec.params) | set(saved.params)):
            if spec.hyper(name) != saved.hyper(name):
                click.echo(f"note: {name} {saved.hyper(name)} -> {spec.hyper(name)} from the "
                           "checkpoint on", err=True)  # fmt: skip
        if meta.get("stream") and meta["stream"] != stream_url:
            click.echo(
                f"note: the checkpoint was made on stream {meta['stream']}; continuing on "
                f"{stream_url} after {meta.get('position', 0)} samples",
                err=True,
            )
        stream = open_stream(
            stream_url, n_inputs=n_inputs or spec.n_inputs, n_outputs=n_outputs or spec.n_outputs,
            on_bad_input=on_bad_input, loss=loss, **live,
        )  # fmt: skip
        if (stream.n_inputs, stream.n_outputs) != (spec.n_inputs, spec.n_outputs):
            raise CheckpointError(
                f"the checkpoint's network takes {spec.n_inputs} inputs and {spec.n_outputs} "
                f"outputs, the stream has {stream.n_inputs} and {stream.n_outputs}"
            )
        return network, stream, meta
    if rule is None:
        raise click.UsageError("--rule is required (or --resume a checkpoint)")
    stream = open_stream(
        stream_url, n_inputs=n_inputs, n_outputs=n_outputs, on_bad_input=on_bad_input, loss=loss,
        **live,
    )  # fmt: skip
    spec = NetworkSpec(
        rule=rule, n_inputs=stream.n_inputs, n_outputs=stream.n_outputs, n_hidden=hidden,
        decorrelate=decorrelate, loss=stream.loss, precision=precision, seed=seed,
        params=_parse_params(params),
    )  # fmt: skip
    return Network(spec, target=target), stream, meta


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _report(summary: dict, stream, as_json: bool, human_to_stderr: bool = False) -> None:
    bad = summary["bad_samples"]
    if bad:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(summary["bad_samples_by_kind"].items()))
        click.echo(f"warning: {bad} bad samples in all ({kinds}); the first:", err=True)
        for where, _kind, message in getattr(stream, "bad_lines", [])[:5]:
            click.echo(f"  {where}: {message}", err=True)
    if summary["stream_end"]:
        click.echo(f"error: the stream stopped: {summary['stream_end']}"
                   + (" (checkpoint written)" if summary.get("checkpoint") else ""),
                   err=True)  # fmt: skip
    if as_json:
        click.echo(json.dumps({k: _json_value(v) for k, v in summary.items()}))
        return
    lines = [
        f"{summary['name']} on {summary['stream']} ({summary['target']}, "
        f"{summary['precision']}, {summary['hidden']} hidden): {summary['steps']} steps"
        + (" (interrupted)" if summary["interrupted"] else ""),
        f"  train loss  {_fmt(summary['train_loss_first'])} (first epoch) -> "
        f"{_fmt(summary['train_loss'])} (last)",
    ]
    if summary.get("test_loss") is not None:
        test = f"  test loss   {_fmt(summary['test_loss'])}"
        if "test_nrmse" in summary:
            test += f"   NRMSE {_fmt(summary['test_nrmse'])}"
        if "test_accuracy" in summary:
            test += f"   accuracy {_fmt(summary['test_accuracy'])}"
        if "test_sequence_accuracy" in summary:
            test += f" (whole sequences {_fmt(summary['test_sequence_accuracy'])})"
        if "baseline_loss" in summary:
            test += f"   (memoryless baseline {_fmt(summary['baseline_loss'])})"
        lines.append(test)
    lines.append(
        f"  speed       {_fmt(summary['steps_per_s'])} steps/s, {summary['elapsed_s']:.1f} s in all"
    )
    if summary.get("checkpoint"):
        lines.append(f"  checkpoint  {summary['checkpoint']}")
    if summary["reconnects"]:
        lines.append(f"  reconnects  {summary['reconnects']}")
    click.echo("\n".join(lines), err=human_to_stderr)


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@main.command(context_settings={"show_default": True})
@click.option("--rule", type=click.Choice(list(RULES)), required=True, help="Learning rule.")
@click.option("--decorrelate/--no-decorrelate", default=False, help="With decorrelation D.")
@click.option("--hidden", type=click.IntRange(min=1), default=100, help="Hidden units.")
@click.option("--inputs", "n_inputs", type=click.IntRange(min=1), default=1, help="Inputs.")
@click.option("--outputs", "n_outputs", type=click.IntRange(min=1), default=1, help="Outputs.")
@click.option(
    "--precision", default="float64", metavar="NAME|fixed:...",
    help="float64, float32, fixed16, loihi8 or fixed:... (as for `run`); memory counts its widths.",
)  # fmt: skip
@click.option("--loss", type=click.Choice(list(LOSSES)), default="mse", help="Loss.")
@click.option(
    "--window", type=click.IntRange(min=1), default=None,
    help="BPTT's window T, or TPTT's and LRA's window K (their stored steps: memory grows "
    "with it).",
)  # fmt: skip
@click.option(
    "-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
    help="Hyper-parameter, e.g. -p optimizer=adam (Adam's moments are counted), as for `run`.",
)  # fmt: skip
@click.option(
    "--budget", default=None, metavar="loihi2|memory=..,neurons=..,ops=..,cores=..",
    help="Check against a per-core budget and report the cores needed "
    "(loihi2: 128 KiB, 8192 neurons, 2^20 ops per step per core, 128 cores; memory and ops "
    "are assumptions). Exit 1 if the network needs more cores than the budget has.",
)  # fmt: skip
@click.option(
    "--sweep-hidden", default=None, metavar="N,N,...",
    help="Profile at each hidden size and print how memory, operations and time grow.",
)  # fmt: skip
@click.option(
    "--plot", type=click.Path(dir_okay=False), default=None,
    help="With --sweep-hidden: save a log-log plot of the growth (PNG, needs matplotlib).",
)  # fmt: skip
@click.option("--time/--no-time", "measure", default=True, help="Measure host time per step.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def profile(rule, decorrelate, hidden, n_inputs, n_outputs, precision, loss, window, params,
            budget, sweep_hidden, plot, measure, as_json):  # fmt: skip
    """What one time step of a network costs: bytes of state by kind (host
    storage and the precision's own widths), operations by kind and phase
    (counted exactly as the kernels do them: a test checks the model against
    an instrumented build), and measured host time.

    \b
    timelocal profile --rule anp --decorrelate --hidden 256 --precision fixed16
    timelocal profile --rule bptt --window 1000 --hidden 64
    timelocal profile --rule anp --sweep-hidden 16,64,256,1024 --plot growth.png
    timelocal profile --rule danp --hidden 512 --budget loihi2
    """
    from timelocal.runtime import profile as prof

    extra = _parse_params(params)
    if window is not None:
        if rule not in ("bptt", "tptt", "lra"):
            raise click.UsageError("--window applies to bptt, tptt and lra (the window they store)")
        extra["window"] = window
    try:
        check_budget = prof.parse_budget(budget) if budget else None
        sizes = [hidden]
        if sweep_hidden:
            sizes = [int(part) for part in sweep_hidden.split(",") if part.strip()]
            if not sizes or min(sizes) < 1:
                raise ValueError
    except ValueError:
        raise click.UsageError(
            f"--sweep-hidden takes sizes like 16,64,256, got {sweep_hidden!r}"
        ) from None
    except TimelocalError as exc:
        raise click.UsageError(str(exc)) from None
    if plot and not sweep_hidden:
        raise click.UsageError("--plot needs --sweep-hidden")
    results = []
    for n in sizes:
        try:
            spec = NetworkSpec(rule, n_inputs=n_inputs, n_outputs=n_outputs, n_hidden=n,
                               decorrelate=decorrelate, loss=loss, precision=precision,
                               params=extra)  # fmt: skip
        except TimelocalError as exc:
            raise click.UsageError(str(exc)) from None
        if measure and len(sizes) > 1 and not as_json:
            click.echo(f"measuring n={n} ...", err=True)
        results.append(prof.profile(spec, measure_time=measure))
    checks = [prof.cores_needed(r, check_budget) if check_budget else None for r in results]
    if as_json:
        entries = []
        for result, check in zip(results, checks, strict=True):
            entry = result.to_dict()
            if check:
                entry["budget"] = {**check, "description": check_budget.describe()}
            entries.append(entry)
        click.echo(json.dumps(entries[0] if not sweep_hidden else {"sweep": entries}))
    elif not sweep_hidden:
        click.echo(prof.render(results[0], checks[0]))
        if check_budget:
            click.echo(check_budget.describe())
    else:
        click.echo(prof.render_sweep(results, checks))
    if plot:
        try:
            prof.plot_sweep(results, plot)
        except ImportError:
            raise click.ClickException(
                "--plot needs matplotlib: pip install 'timelocal[bench]'"
            ) from None
        click.echo(f"wrote {plot}", err=True)
    if any(check and not check["fits"] for check in checks):
        raise click.ClickException(
            f"the network needs more cores than the budget's {check_budget.cores}"
        )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def rules(as_json):
    """The learning rules, their hyper-parameters and defaults."""
    table = {
        name: {
            "description": text,
            "time_local": name != "bptt",
            "hyper_parameters": {
                h.name: {
                    "default": NetworkSpec(name, 1, 1).hyper(h.name)
                    if h.name != "anp_scale"
                    else None,
                    "fixed_point_default": h.default_for(name, fixed=True),
                    "tunable": h.tunable,
                    "help": h.help,
                }  # fmt: skip
                for h in HYPER_PARAMETERS
                if name in h.rules
            },
        }
        for name, text in RULES.items()
    }
    if as_json:
        precisions = {name: PRESETS[name].describe() for name in PRECISIONS}
        click.echo(json.dumps({"rules": table, "precisions": precisions}))
        return
    for name, entry in table.items():
        click.echo(f"{name:5s} {entry['description']}")
        for hp, info in entry["hyper_parameters"].items():
            default = "sqrt(N)" if info["default"] is None else info["default"]
            if info["fixed_point_default"] not in (None, info["default"]):
                default = f"{default} (fixed: {info['fixed_point_default']})"
            click.echo(f"        {hp:20s} {str(default):>8s}  {info['help']}")
    click.echo("\n--decorrelate adds Ahmad decorrelation to any rule (DNP, DANP, DWP).")
    click.echo(f"On --resume, -p may change {', '.join(TUNABLE)}; nothing else.")
    click.echo("\nprecisions (--precision):")
    for name in PRECISIONS:
        click.echo(f"  {name:8s} {PRESETS[name].describe()}")
    click.echo("  fixed:w=B.F,a=B.F,e=B.F,g=B.F,acc=N[,rounding=nearest][,shared=1]  your own")
    click.echo("  fixed point: hyper-parameter defaults differ (SGD): see `--json`.")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def streams(as_json):
    """The stream kinds, their URL forms and options."""
    options = {f"synth:{name}": synthetic_options(name) for name in SYNTHETIC}
    if as_json:
        click.echo(json.dumps({"streams": STREAM_KINDS, "options": options}))
        return
    for url, text in STREAM_KINDS.items():
        click.echo(f"{url}\n    {text}")
        if url in options:
            opts = "&".join(f"{k}={v}" for k, v in options[url].items())
            click.echo(f"    options: {url}?{opts}")


if __name__ == "__main__":
    main()
