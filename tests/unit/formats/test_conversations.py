"""Conversation formats: openai, claude, generic (incl. Who&When records) and MAST raw logs."""

from __future__ import annotations

import json

import pytest

from mao.domain.formats.conversations import (
    ConversationFormatError,
    conversation_to_run,
    parse_conversation,
)

# --- openai --------------------------------------------------------------------------------------

OPENAI = {"messages": [
    {"role": "system", "content": "You are a travel planner."},
    {"role": "user", "content": [{"type": "text", "text": "Plan 2 days in Lisbon"},
                                 {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function",
         "function": {"name": "weather", "arguments": '{"city": "Lisbon"}'}}]},
    {"role": "tool", "tool_call_id": "call_a", "content": "sunny, 24C"},
    {"role": "assistant", "name": "planner", "content": "Day 1: Alfama. Day 2: Belem."},
]}


def test_openai_messages_with_parts_tool_calls_and_results():
    parsed = parse_conversation("openai", OPENAI)

    assert [(t.speaker, t.role) for t in parsed.turns] == [
        ("system", "system"), ("user", "user"), ("assistant", "assistant"), ("tool", "tool"),
        ("planner", "assistant")]
    assert parsed.turns[1].content == "Plan 2 days in Lisbon\n[image_url]"
    call = parsed.turns[2].tool_calls[0]
    assert (call.name, call.arguments, call.call_id, call.result) == (
        "weather", {"city": "Lisbon"}, "call_a", "sunny, 24C")
    assert parsed.turns[3].metadata["tool_call_id"] == "call_a"


def test_openai_bare_list_is_accepted():
    parsed = parse_conversation("openai", OPENAI["messages"][1:2])
    assert len(parsed.turns) == 1 and parsed.turns[0].role == "user"


@pytest.mark.parametrize(("data", "problem"), [
    ({"msgs": []}, "'messages'"),
    ({"messages": "hello"}, "must be a list"),
    ([{"content": "no role"}], "'role'"),
    ([{"role": "user", "content": 5}], "'content'"),
    ([{"role": "assistant", "content": "", "tool_calls": [{"id": "x"}]}], "function.name"),
    ([], "no turns"),
])
def test_openai_malformed_data_is_named(data, problem):
    with pytest.raises(ConversationFormatError, match=problem):
        parse_conversation("openai", data)


# --- claude --------------------------------------------------------------------------------------

CLAUDE = {
    "system": "You are a coding agent.",
    "messages": [
        {"role": "user", "content": "Why does test_parse fail?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "I should read the test first."},
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "test_parse.py"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1",
             "content": [{"type": "text", "text": "assert 1 == 2"}],
             "is_error": False}]},
        {"role": "assistant", "content": "The assertion is wrong."},
    ],
}


def test_claude_blocks_become_turns_with_tool_calls_results_and_thinking():
    parsed = parse_conversation("claude", CLAUDE)

    assert [(t.speaker, t.role) for t in parsed.turns] == [
        ("system", "system"), ("user", "user"), ("assistant", "assistant"), ("tool", "tool"),
        ("assistant", "assistant")]
    assistant = parsed.turns[2]
    assert assistant.content == "Let me look."
    assert assistant.metadata["thinking"] == "I should read the test first."
    call = assistant.tool_calls[0]
    assert (call.name, call.arguments) == ("read_file", {"path": "test_parse.py"})
    assert call.result == "assert 1 == 2"
    assert parsed.turns[3].content == "assert 1 == 2"
    assert [t.index for t in parsed.turns] == list(range(5))


@pytest.mark.parametrize(("data", "problem"), [
    ({"messages": [{"role": "system", "content": "x"}]}, "'user' or 'assistant'"),
    ({"messages": [{"role": "user", "content": [{"type": "audio"}]}]}, "unknown block type"),
    ({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "input": {}}]}]}, "needs 'name'"),
    ({"system": "only a system prompt"}, "'messages'"),
])
def test_claude_malformed_data_is_named(data, problem):
    with pytest.raises(ConversationFormatError, match=problem):
        parse_conversation("claude", data)


# --- generic -------------------------------------------------------------------------------------


def test_generic_items_with_agent_name_or_role():
    parsed = parse_conversation("generic", [
        {"role": "user", "content": "Summarise the Q3 report"},
        {"agent": "Analyst", "text": "Revenue grew 12%."},
        {"name": "Critic", "role": "assistant", "content": "Check the currency.", "ts": 3},
    ])

    assert [(t.speaker, t.role) for t in parsed.turns] == [("user", "user"), ("Analyst", "agent"),
                                                          ("Critic", "agent")]
    assert parsed.turns[2].metadata["ts"] == 3


def test_generic_plain_text_with_speaker_prefixes():
    text = ("Planner: split the work into two parts\nand report back\n"
            "Coder: done with part one\n"
            "[Reviewer] part one has a bug on line 3\n"
            "Planner: fix it\n"
            "[Reviewer] looks good now\n"
            "Coder: part two done")
    parsed = parse_conversation("generic", text)

    speakers = [t.speaker for t in parsed.turns]
    assert speakers == ["Planner", "Coder", "Reviewer", "Planner", "Reviewer", "Coder"]
    assert parsed.turns[0].content == "split the work into two parts\nand report back"


def test_generic_plain_text_ignores_one_off_colon_lines_inside_messages():
    text = ("Planner: the plan\nStep 1: gather data\nStep 2: analyse\n"
            "Worker: working on it\nNote: slow source\nPlanner: thanks\nWorker: finished")
    parsed = parse_conversation("generic", text)

    assert [t.speaker for t in parsed.turns] == ["Planner", "Worker", "Planner", "Worker"]
    assert "Step 1: gather data" in parsed.turns[0].content


def test_generic_who_and_when_record_keeps_indices_and_labels():
    record = {
        "id": "Algorithm-Generated/1", "question": "What is 2+2?", "ground_truth": "4",
        "history": [
            {"role": "user", "name": "user_proxy", "content": "What is 2+2?"},
            {"role": "assistant", "name": "Math_Expert", "content": "5"},
            {"role": "assistant", "name": "Verifier", "content": ""},
            {"role": "Orchestrator (thought)", "content": "Next speaker: Verifier"},
        ],
        "mistake_agent": "Math_Expert", "mistake_step": "1", "mistake_reason": "wrong sum",
    }
    parsed = parse_conversation("generic", record)

    assert [t.speaker for t in parsed.turns] == ["user_proxy", "Math_Expert", "Verifier", "Orchestrator"]
    assert parsed.turns[0].role == "user" and parsed.turns[3].metadata["channel"] == "thought"
    assert parsed.labels == {"mistake_agent": "Math_Expert", "mistake_step": 1, "mistake_reason": "wrong sum"}
    run = conversation_to_run("c1", parsed)
    assert run.task == "What is 2+2?" and run.ground_truth == "4"
    assert run.steps[1].agent == "Math_Expert" and run.steps[1].ref == "turn:1"


@pytest.mark.parametrize(("data", "problem"), [
    ("no speakers in this text at all", "speaker prefixes"),
    ({"foo": []}, "'history'"),
    ([{"content": "who said this?"}], "needs one of agent"),
    ([{"agent": "A"}], "needs one of content"),
    ([42], "must be an object"),
    ({"history": [], "mistake_step": "x"}, "mistake_step"),
])
def test_generic_malformed_data_is_named(data, problem):
    with pytest.raises(ConversationFormatError, match=problem):
        parse_conversation("generic", data)


def test_unknown_format_is_refused():
    with pytest.raises(ConversationFormatError, match="unknown format 'langsmith'"):
        parse_conversation("langsmith", [])


def test_who_and_when_dataset_parses_one_turn_per_history_entry(datasets_dir):
    path = datasets_dir / "who-and-when" / "dev.jsonl"
    if not path.exists():
        pytest.skip(f"{path} not found")
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    agreeing = 0
    for record in records:
        parsed = parse_conversation("generic", record)
        assert len(parsed.turns) == len(record["history"])
        step = parsed.labels["mistake_step"]
        if 0 <= step < len(parsed.turns) and parsed.turns[step].speaker == record["mistake_agent"]:
            agreeing += 1
    # the labelled step is (almost always) a message of the labelled agent
    assert agreeing / len(records) > 0.9


# --- mast-data -----------------------------------------------------------------------------------

CHATDEV_LOG = """\
[2024-01-01 10:00:00 INFO] **[Preprocessing]**
**ChatDev Starts** (20240101100000)
[2024-01-01 10:00:01 INFO] Chief Product Officer: **Chief Product Officer<->Chief Executive Officer on : \
DemandAnalysis, turn 0**

ChatDev has made products in the following form before: Application, Document.
[2024-01-01 10:00:05 INFO] Chief Executive Officer: **Chief Executive Officer<->Chief Product Officer on : \
DemandAnalysis, turn 0**

<INFO> Application
[2024-01-01 10:00:09 INFO] Programmer: **Programmer<->Chief Technology Officer on : Coding, turn 0**

main.py
```python
print("hi")
```
[2024-01-01 10:00:12 INFO] flask app.py did not start
"""

AG2_YAML = """\
problem_statement: compute 3*7
trajectory:
- content: What is 3*7? Use python.
  role: user
  name: mathproxyagent
- content: |-
    ```python
    print(3*7)
    ```
  role: assistant
  name: assistant
- content: '21'
  role: user
  name: mathproxyagent
"""

AUTOGEN_CONSOLE = """\
user_proxy (to assistant):

Plot a chart of NVDA.

--------------------------------------------------------------------------------
assistant (to user_proxy):

```python
import yfinance
```

--------------------------------------------------------------------------------
user_proxy (to assistant):

exitcode: 1 (execution failed)
"""

MAGENTIC_LOG = """\
SCENARIO.PY STARTING !#!#
---------- user ----------
How many studio albums did the band release?
---------- MagenticOneOrchestrator ----------
Please search the web.
---------- WebSurfer ----------
I typed 'albums' into the search box.
---------- MagenticOneOrchestrator ----------
FINAL ANSWER: 7
SCENARIO.PY COMPLETE !#!#
"""

HYPERAGENT_LOG = """\
HyperAgent_task-1 - INFO - Initialized HyperAgent instance
HyperAgent_task-1 - INFO - Planner's Response: Thought: find the bug.
Intern Name: Codebase Navigator
HyperAgent_task-1 - INFO - Inner-Navigator-Assistant's Response: Thought: open utils.py
HyperAgent_task-1 - INFO - Navigator->Planner: The bug is in utils.py line 10.
HyperAgent_task-1 - INFO - Planner's Response: Thought: ask the editor to fix it.
"""

OPENMANUS_LOG = """\
2025-03-08 10:00:00.100 | INFO     | app.agent.base:run:140 - Executing step 1/20
2025-03-08 10:00:02.200 | INFO     | app.agent.toolcall:think:81 - ✨ Manus's thoughts: I will search first.
2025-03-08 10:00:02.300 | INFO     | app.agent.toolcall:think:82 - 🛠️ Manus selected 1 tools to use
2025-03-08 10:00:05.400 | INFO     | app.agent.toolcall:act:150 - 🎯 Tool 'web_search' \
completed its mission! Result: 3 pages found
2025-03-08 10:00:06.100 | INFO     | app.agent.base:run:140 - Executing step 2/20
2025-03-08 10:00:07.200 | INFO     | app.agent.toolcall:think:81 - ✨ Manus's thoughts: Now summarise.
"""

APPWORLD_LOG = """\
Response from Supervisor Agent
I will ask the spotify agent for the playlist.

Message to Music Agent
Find my longest playlist.

Response from Music Agent
apis.music.show_playlists()

Code Execution Output

[{"title": "Road trip"}]

Reply from Music Agent
Your longest playlist is Road trip.
"""

METAGPT_LOG = """\
=== MetaGPT run ===
FROM: Human
TO: {'<all>'}
ACTION: metagpt.actions.add_requirement.UserRequirement
CONTENT:
Write a function that sorts a list.
--------------------------------------------------------------------------------
NEW MESSAGES:

SimpleCoder: def sort_list(xs): return sorted(xs)
--------------------------------------------------------------------------------
NEW MESSAGES:

SimpleTester: def test_sort(): assert sort_list([2, 1]) == [1, 2]
===
"""


def mast(mas_name: str, log: str, **annotation: int) -> dict:
    return {"mas_name": mas_name, "llm_name": "GPT-4o", "benchmark_name": "ProgramDev", "trace_id": 7,
            "trace": {"trajectory": log},
            "mast_annotation": {k.replace("_", "."): v for k, v in annotation.items()}}


@pytest.mark.parametrize(("mas_name", "log", "speakers", "splitter"), [
    ("ChatDev", CHATDEV_LOG, ["Chief Product Officer", "Chief Executive Officer", "Programmer"], "chatdev"),
    ("AG2", AG2_YAML, ["mathproxyagent", "assistant", "mathproxyagent"], "yaml"),
    ("AG2", AUTOGEN_CONSOLE, ["user_proxy", "assistant", "user_proxy"], "autogen"),
    ("Magentic", MAGENTIC_LOG, ["user", "MagenticOneOrchestrator", "WebSurfer", "MagenticOneOrchestrator"],
     "dashed"),
    ("HyperAgent", HYPERAGENT_LOG, ["Planner", "Navigator", "Navigator", "Planner"], "hyperagent"),
    ("OpenManus", OPENMANUS_LOG, ["Manus", "web_search", "Manus"], "openmanus"),
    ("AppWorld", APPWORLD_LOG,
     ["Supervisor Agent", "Supervisor Agent", "Music Agent", "Code Execution Output", "Music Agent"],
     "appworld"),
    ("MetaGPT", METAGPT_LOG, ["Human", "SimpleCoder", "SimpleTester"], "metagpt"),
])
def test_mast_logs_are_split_per_system(mas_name, log, speakers, splitter):
    parsed = parse_conversation("mast-data", mast(mas_name, log))

    assert [t.speaker for t in parsed.turns] == speakers
    assert parsed.metadata["splitter"] == splitter
    assert all(t.content for t in parsed.turns)


def test_mast_turn_contents_and_roles():
    chatdev = parse_conversation("mast-data", mast("ChatDev", CHATDEV_LOG)).turns
    assert "products in the following form" in chatdev[0].content
    assert "flask app.py did not start" in chatdev[2].content
    manus = parse_conversation("mast-data", mast("OpenManus", OPENMANUS_LOG)).turns
    assert manus[1].role == "tool" and manus[1].content.startswith("3 pages found")
    assert "selected 1 tools" in manus[0].content
    hyper = parse_conversation("mast-data", mast("HyperAgent", HYPERAGENT_LOG)).turns
    assert hyper[2].metadata["to"] == "Planner"
    ag2 = parse_conversation("mast-data", mast("AG2", AUTOGEN_CONSOLE)).turns
    assert ag2[0].role == "user" and ag2[0].metadata["to"] == "assistant"


def test_unknown_system_uses_the_generic_splitter_that_finds_most():
    parsed = parse_conversation("mast-data", mast("SomeNewMAS", AUTOGEN_CONSOLE))
    assert parsed.metadata["splitter"] == "autogen" and len(parsed.turns) == 3


def test_mast_annotation_becomes_f_code_labels_and_metadata_is_kept():
    parsed = parse_conversation("mast-data", mast("ChatDev", CHATDEV_LOG, **{
        "1_1": 0, "1_3": 1, "2_6": 1, "3_2": 0, "3_3": 1}))

    assert parsed.labels["failure_codes"] == ["F3", "F11", "F14"]
    assert parsed.labels["mast_annotation"]["1.3"] == 1
    assert parsed.metadata["mas_name"] == "ChatDev" and parsed.metadata["llm_name"] == "GPT-4o"
    assert parsed.metadata["benchmark_name"] == "ProgramDev" and parsed.metadata["trace_id"] == 7


def test_unsplittable_log_is_one_turn_marked_unsplit():
    parsed = parse_conversation("mast-data", mast("ChatDev", "just a blob of output without speakers"))
    assert len(parsed.turns) == 1 and parsed.turns[0].metadata == {"unsplit": True}
    assert parsed.metadata["splitter"] == "none"


@pytest.mark.parametrize(("data", "problem"), [
    ({"mas_name": "ChatDev"}, "trace.trajectory"),
    ({"trace": {"trajectory": "   "}}, "trace.trajectory"),
    ([], "MAST record"),
    ({"trace": {"trajectory": "A: x"}, "mast_annotation": [1, 0]}, "must be an object"),
    ({"trace": {"trajectory": "A: x"}, "mast_annotation": {"1.1": "yes"}}, "must be 0 or 1"),
])
def test_mast_malformed_records_are_named(data, problem):
    with pytest.raises(ConversationFormatError, match=problem):
        parse_conversation("mast-data", data)


def test_conversation_to_run_for_detectors():
    parsed = parse_conversation("openai", OPENAI)
    run = conversation_to_run("conv-1", parsed)

    assert run.kind == "conversation" and run.run_id == "conv-1"
    assert [s.ref for s in run.steps] == [f"turn:{i}" for i in range(5)]
    assert run.task == "Plan 2 days in Lisbon\n[image_url]"
    assert run.final_output == "Day 1: Alfama. Day 2: Belem."
    assert run.steps[3].kind == "tool" and run.steps[2].tool_calls[0].name == "weather"
    assert run.steps[4].input == "sunny, 24C"
    assert run.framework == "openai"
    ag2 = parse_conversation("mast-data", mast("AG2", AG2_YAML))
    assert conversation_to_run("m", ag2).framework == "autogen"
