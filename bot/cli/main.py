"""`fwbot`: ask, align, evaluate, index and inspect a framework from the command line.

fwbot ask "Which objective is about training?"
fwbot align "Run workshops for investigators on open-source intelligence"
fwbot align --batch proposals.jsonl --json
fwbot eval --questions q.jsonl --proposals p.jsonl
fwbot framework validate my_framework.yaml
fwbot console
fwbot serve --port 3000
fwbot feedback export -o questions_from_slack.jsonl
fwbot nudge run --dry-run
fwbot progress import initiatives.csv
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from framework_data.loader import check_framework, render_framework

from ..wiring.settings import Settings
from .json_output import EXIT_ERROR, EXIT_OK, align_batch, align_json, ask_batch, ask_json, emit
from .progress import add_commands as add_progress_commands


def _services(args: argparse.Namespace, **kw):  # -> Services (imported late: fast --help)
    from ..wiring.composition import Services

    return Services(Settings(), framework_path=args.framework, **kw)


def _read_input(args: argparse.Namespace) -> str | None:
    if args.text == ["-"]:
        return sys.stdin.buffer.read().decode("utf-8", errors="replace")
    return " ".join(args.text) if args.text else None


# ---- ask ------------------------------------------------------------------------------------


def cmd_ask(args: argparse.Namespace) -> int:
    services = _services(args)
    ask = services.ask_anything
    if args.batch:
        return ask_batch(ask, Path(args.batch))
    question = _read_input(args)
    if question is None or not question.strip():
        print(
            'fwbot: ask needs a question, e.g. fwbot ask "Which objective is about training?"',
            file=sys.stderr,
        )
        return EXIT_ERROR
    answer = ask(question)
    if args.json:
        emit(sys.stdout, ask_json(None, question, answer))
    else:
        from .render import render_answer

        print(render_answer(answer, services.framework))
    return EXIT_OK


# ---- align ----------------------------------------------------------------------------------


def cmd_align(args: argparse.Namespace) -> int:
    from retrieval.align import AlignInputError

    services = _services(args)
    if args.batch:
        return align_batch(services.assistant, Path(args.batch))
    document = None
    if args.file:  # PDF, DOCX, Markdown or text (bot/services/documents.py)
        from ..services.documents import DocumentError, read_document_file

        try:
            document = read_document_file(args.file)
        except DocumentError as exc:
            print(f"fwbot: {exc.name}: {exc.reason}", file=sys.stderr)
            return EXIT_ERROR
    text = document.text if document is not None else _read_input(args)
    if text is None:
        print(
            'fwbot: align needs a proposal: fwbot align "text", --file F, or - for stdin',
            file=sys.stderr,
        )
        return EXIT_ERROR
    try:
        alignment = services.assistant.align(text)
    except AlignInputError as exc:
        print(f"fwbot: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        out = align_json(None, alignment)
        if document is not None:
            out["source"] = document.model_dump(include={"name", "kind", "pages", "words"})
        emit(sys.stdout, out)
    else:
        from .render import render_alignment

        if document is not None:
            print(f"Read {document.summary()}.")
        print(render_alignment(alignment, services.framework))
    return EXIT_OK


# ---- eval, index, framework -------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    from retrieval import evaluation as ev

    if not (
        args.questions or args.proposals or args.conversations or args.multi_aim or args.progress
    ):
        print(
            "fwbot: eval needs --questions FILE, --proposals FILE, --conversations FILE, "
            "--multi-aim FILE and/or --progress FILE --initiatives CSV",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if args.progress and not args.initiatives:
        print("fwbot: eval --progress needs --initiatives CSV", file=sys.stderr)
        return EXIT_ERROR
    services = _services(args, without_notes=args.no_scope)
    if args.progress:
        return eval_progress(services, args)
    mode = f"model {services.settings.llm.model}" if services.settings.llm.model else "offline"
    if args.conversations:
        from retrieval import conversation_eval as cev

        c = cev.evaluate_conversations(services.assistant, args.conversations)
        if args.json:
            print(json.dumps({"mode": mode, "topic_accuracy": c.topic_accuracy, **c.model_dump()}))
        else:
            print(f"mode: {mode}\n{cev.conversation_table(c)}")
    if args.multi_aim:
        from retrieval import multiaim_eval as mev

        now, whole = mev.evaluate_multi_aim(services.assistant.aligner, args.multi_aim)
        if args.json:
            print(
                json.dumps(
                    {
                        "mode": mode,
                        "multi_aim": now.model_dump(),
                        "whole_text_only": whole.model_dump(),
                    }
                )
            )
        else:
            print(f"mode: {mode}\n{mev.multi_aim_table(now, whole)}")
    if not args.questions and not args.proposals:
        return EXIT_OK
    q, p = ev.evaluate(services.assistant, args.questions, args.proposals)
    if args.json:
        print(json.dumps({"mode": mode, **json.loads(ev.dump(q, p))}, indent=2))
    else:
        table = ev.metrics_table(q, p, model=bool(services.settings.llm.model))
        print(f"mode: {mode}\n{table}")
    return EXIT_OK


def eval_progress(services, args: argparse.Namespace) -> int:  # services: Services
    """``fwbot eval --progress FILE --initiatives CSV [--questions FILE]``: how well progress
    questions are read, and how many framework questions are taken for progress ones."""
    from retrieval import progress_eval as pev

    titles = pev.read_initiative_titles(args.initiatives)
    # The search (and its model) is loaded only if a question names an objective by words.
    resolve = pev.first_objective_resolver(lambda text: services.assistant.searcher.search(text))
    parse = pev.parser_for(services.framework, titles, resolve)
    metrics = pev.evaluate_progress(pev.read_progress_cases(args.progress), parse, titles)
    check = pev.check_framework_questions(args.questions, parse) if args.questions else None
    if args.json:
        out = {"progress": metrics.model_dump()}
        if check is not None:
            out["framework_questions"] = check.model_dump()
        print(json.dumps(out, indent=2))
    else:
        print(pev.progress_table(metrics, check))
    return EXIT_OK


def cmd_index(args: argparse.Namespace) -> int:
    services = _services(args)
    searcher = services.build_searcher(rebuild=True)
    loc = services.chroma_location
    where = f"{loc.host}:{loc.port}" if loc.host else str(loc.path)
    print(
        f"Indexed {len(searcher.index.views)} views of {len(searcher.elements)} elements of "
        f"{services.framework.title} into Chroma at {where}."
    )
    return EXIT_OK


def cmd_framework(args: argparse.Namespace) -> int:
    if args.action == "validate":
        path = args.file or args.framework
        if path is None:
            from framework_data.loader import DEFAULT_FRAMEWORK_PATH

            path = DEFAULT_FRAMEWORK_PATH
        fw, problems = check_framework(path)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems or fw is None:
            print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
            return EXIT_ERROR
        n = sum(1 for _ in fw.objectives())
        print(f"{path}: OK — {fw.title}: {len(fw.goals)} goals, {n} objectives")
        from framework_data.notes import overlapping_notes

        for warning in overlapping_notes(fw):  # valid, but notes that blur two objectives
            print(f"{path}: warning: {warning}", file=sys.stderr)
        return EXIT_OK
    services = _services(args)
    print(render_framework(services.framework, notes=args.scope))
    return EXIT_OK


def cmd_console(args: argparse.Namespace) -> int:
    from .console import run_console

    return run_console(_services(args), slack=args.slack)


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    return serve(_services(args, serving=True), host=args.host, port=args.port)


def cmd_feedback(args: argparse.Namespace) -> int:
    from .feedback import export

    rows = _services(args).store.feedback_rows()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            n = export(rows, out, unhelpful=args.unhelpful)
        print(f"wrote {n} question(s) to {args.output}", file=sys.stderr)
    else:
        n = export(rows, sys.stdout, unhelpful=args.unhelpful)
    if n == 0:
        print("no votes to export yet" if not rows else "no question matches", file=sys.stderr)
    return EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    services = _services(args)
    services.database  # noqa: B018 — migrates on first use
    print(f"database is up to date: {services.settings.storage.database}")
    return EXIT_OK


def cmd_llm(args: argparse.Namespace) -> int:
    from ..wiring.chat_model import check

    result = check(Settings())
    print(result.line, file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else EXIT_ERROR


# ---- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    # --framework may stand before or after the subcommand; SUPPRESS keeps the subcommand's
    # parser from overwriting a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--framework",
        type=Path,
        default=argparse.SUPPRESS,
        help="framework file (default: $FWBOT_FRAMEWORK or the INTERPOL one)",
    )
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="on an error, print the traceback too (or set FWBOT_DEBUG=1)",
    )
    parser = argparse.ArgumentParser(
        prog="fwbot",
        description="Answers and alignment grounded in a strategic framework.",
    )
    parser.add_argument("--framework", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--debug", action="store_true", default=False, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ask", parents=[common], help="answer a question from the framework")
    p.add_argument("text", nargs="*", help='the question, or "-" to read stdin')
    p.add_argument(
        "--batch",
        type=Path,
        help='JSONL file of {"id", "question"} lines; prints one JSON object per line, in '
        "order (JSON with or without --json: a batch is for programs)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("align", parents=[common], help="find the objectives a proposal serves")
    p.add_argument("text", nargs="*", help='the proposal, or "-" to read stdin')
    p.add_argument(
        "--file",
        type=Path,
        help="read the proposal from a PDF, Word (.docx), Markdown or text file",
    )
    p.add_argument(
        "--batch",
        type=Path,
        help='JSONL file of {"id", "text"} lines; prints one JSON object per line, in order '
        "(JSON with or without --json: a batch is for programs)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_align)

    p = sub.add_parser("eval", parents=[common], help="measure quality on labelled sets")
    p.add_argument("--questions", type=Path)
    p.add_argument("--proposals", type=Path)
    p.add_argument(
        "--conversations",
        type=Path,
        help="JSONL of labelled follow-up conversations: prints their topic accuracy",
    )
    p.add_argument(
        "--multi-aim",
        type=Path,
        help="JSONL of long proposals labelled with each aim: prints aim recall and wrong tags",
    )
    p.add_argument(
        "--progress",
        type=Path,
        help="JSONL of labelled progress questions (with --initiatives): prints intent and "
        "entity accuracy; with --questions, also how many of those are taken for progress",
    )
    p.add_argument(
        "--initiatives",
        type=Path,
        help="CSV of the initiatives the progress questions name (title,owner,objectives,...)",
    )
    p.add_argument(
        "--no-scope",
        action="store_true",
        help="without the framework's scope notes and keywords (what are they worth?)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("index", parents=[common], help="rebuild the search index")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("framework", parents=[common], help="validate or show a framework")
    p.add_argument("action", choices=["validate", "show"])
    p.add_argument("file", nargs="?", type=Path, help="file to validate")
    p.add_argument(
        "--scope",
        action="store_true",
        help="show: with each goal's and objective's scope note and keywords",
    )
    p.set_defaults(func=cmd_framework)

    p = sub.add_parser("console", parents=[common], help="a local chat: questions and /align")
    p.add_argument(
        "--slack",
        action="store_true",
        help="answer through the Slack app's handlers, on a local fake Slack",
    )
    p.set_defaults(func=cmd_console)

    p = sub.add_parser("serve", parents=[common], help="run the Slack app (Socket Mode or HTTP)")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000; 0: any)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("feedback", parents=[common], help="export votes on answers")
    p.add_argument("action", choices=["export"])
    p.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    p.add_argument(
        "--unhelpful",
        action="store_true",
        help="export the answers voted not helpful (to label by hand)",
    )
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("db", parents=[common], help="database maintenance")
    p.add_argument("action", choices=["upgrade"])
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("llm", parents=[common], help="the optional chat model (FWBOT_LLM)")
    p.add_argument(
        "action",
        choices=["check"],
        help="check: send one tiny request; report the model, latency and tokens",
    )
    p.set_defaults(func=cmd_llm)

    add_progress_commands(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a mistake in input or settings is one line on stderr and a non-zero
    exit (bot/cli/errors.py), with the traceback under --debug or FWBOT_DEBUG=1."""
    from .errors import run

    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return run(func, args)
