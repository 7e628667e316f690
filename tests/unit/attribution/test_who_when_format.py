"""Who&When records become conversation runs; labels stay outside the run."""

from __future__ import annotations

from mao.domain.formats.who_when import labels, split_speaker, to_run

ORCHESTRATED = {
    "id": "Hand-Crafted/x",
    "subset": "Hand-Crafted",
    "question": "How many moons does the planet have?",
    "ground_truth": "2",
    "history": [
        {"role": "human", "content": "How many moons does the planet have?"},
        {"role": "Orchestrator (thought)", "content": "Initial plan: ask the web agent."},
        {"role": "Orchestrator (-> WebSurfer)", "content": "Please search for the planet's moons."},
        {"role": "WebSurfer", "content": "I typed 'planet moons' into the search bar."},
        {"role": "Orchestrator (termination condition)", "content": "No agent selected.\nFINAL ANSWER: 3\n"},
    ],
    "mistake_agent": "WebSurfer",
    "mistake_step": "3",
    "mistake_reason": "Searched the wrong planet.",
}

GROUP_CHAT = {
    "id": "Algorithm-Generated/y",
    "question": "Add the numbers.",
    "history": [
        {"role": "assistant", "name": "Math_Expert", "content": "The sum is 7."},
        {"role": "user", "name": "Computer_terminal", "content": "exitcode: 0 (execution succeeded)"},
    ],
    "mistake_agent": "Math_Expert",
    "mistake_step": "0",
}


def test_a_qualified_speaker_is_split_into_agent_and_qualifier() -> None:
    assert split_speaker("Orchestrator (-> WebSurfer)") == ("Orchestrator", "-> WebSurfer")
    assert split_speaker("Orchestrator (thought)") == ("Orchestrator", "thought")
    assert split_speaker("Math_Expert") == ("Math_Expert", None)


def test_orchestrated_history_becomes_steps_with_normalised_agents() -> None:
    run = to_run(ORCHESTRATED)
    agents = [s.agent for s in run.steps]
    assert agents == ["human", "Orchestrator", "Orchestrator", "WebSurfer", "Orchestrator"]
    assert [s.index for s in run.steps] == [0, 1, 2, 3, 4]
    assert run.steps[0].role == "user" and run.steps[3].role == "assistant"
    assert run.steps[2].metadata == {"speaker": "Orchestrator (-> WebSurfer)", "qualifier": "-> WebSurfer"}
    assert run.steps[3].ref == "turn:3"
    assert (run.task, run.ground_truth, run.final_output, run.status) == (
        "How many moons does the planet have?", "2", "3", "error",
    )
    assert run.kind == "conversation" and run.run_id == "Hand-Crafted/x"


def test_the_name_field_wins_over_the_chat_role() -> None:
    run = to_run(GROUP_CHAT)
    assert [s.agent for s in run.steps] == ["Math_Expert", "Computer_terminal"]
    assert all(s.role == "assistant" for s in run.steps)
    assert run.final_output is None


def test_labels_are_read_separately_and_never_enter_the_run() -> None:
    label = labels(ORCHESTRATED)
    assert label is not None and (label.agent, label.step) == ("WebSurfer", 3)
    run = to_run(ORCHESTRATED)
    assert "WebSurfer" not in str(run.metadata) and "wrong planet" not in str(run.metadata)
    assert labels({"history": []}) is None
    assert labels({"mistake_agent": "A", "mistake_step": "three"}) is None
