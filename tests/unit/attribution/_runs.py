"""Small hand-written runs for the attribution tests."""

from __future__ import annotations

from mao.domain.models import Run, Step


def run_of(messages: list[tuple[str, str]], *, status: str = "error", **fields: object) -> Run:
    """A conversation run from (agent, content) pairs; the agent ``user`` speaks with the user role."""
    steps = [
        Step(
            index=i,
            agent=agent,
            content=content,
            ref=f"turn:{i}",
            role="user" if agent == "user" else "assistant",
        )
        for i, (agent, content) in enumerate(messages)
    ]
    return Run(run_id="hand-written", kind="conversation", steps=steps, status=status, **fields)  # type: ignore[arg-type]


TOOL_ERROR = [
    ("user", "Compute the mean monthly rainfall in the attached rainfall.csv file for 2021."),
    ("planner", "Plan: load the CSV with pandas, keep the 2021 rows, average the monthly totals."),
    (
        "coder",
        "Here is the code:\n```python\nimport pandas as pd\ndf = pd.read_csv('rain.csv')\n"
        "print(df[df.year == 2021].rainfall.mean())\n```",
    ),
    (
        "executor",
        "exitcode: 1 (execution failed)\nCode output: Traceback (most recent call last):\n"
        "  File \"main.py\", line 2, in <module>\n"
        "FileNotFoundError: [Errno 2] No such file or directory: 'rain.csv'",
    ),
    ("planner", "The file could not be read. Coder, please check the file name and try again."),
    (
        "coder",
        "Since the file is not available, I will estimate with typical values.\n```python\nprint(71.4)\n```",
    ),
    ("executor", "exitcode: 0 (execution succeeded)\nCode output: 71.4"),
    ("planner", "The mean monthly rainfall for 2021 is 71.4 mm. TERMINATE"),
]

VERIFIER_ACCEPTS = [
    ("user", "What was the population of the town of Example Falls in the 2020 census?"),
    ("coordinator", "Researcher, please find the 2020 census population of Example Falls; verifier, check."),
    (
        "researcher",
        "I could not open the census site, so assuming growth similar to nearby towns, the 2020 population "
        "of Example Falls is 12,345 residents.",
    ),
    ("coordinator", "Verifier, please check the researcher's population figure before we answer."),
    (
        "verifier",
        "I have reviewed the researcher's figure of 12,345 residents. It looks consistent and I confirm it "
        "is correct.",
    ),
    ("coordinator", "Final answer: the 2020 census population of Example Falls is 12,345. TERMINATE"),
]

SEARCH = "I typed 'Riverside public library opening hours' into the search bar and got a page of results."
LOOP = [
    ("user", "Find the opening hours of the Riverside public library on Sundays."),
    ("orchestrator", "Plan: ask the browser agent to look up the library website and read the hours."),
    ("orchestrator", "Browser, please search for the Riverside public library opening hours."),
    ("browser", SEARCH),
    ("orchestrator", "We are not making progress yet. Browser, please open the library website."),
    ("browser", SEARCH),
    ("orchestrator", "We seem to be stuck in a loop. Browser, please open the library website instead."),
    ("browser", SEARCH),
    ("orchestrator", "Stalled: no progress after repeated searches. Replanning."),
    ("browser", SEARCH),
    ("orchestrator", "We could not find the Sunday opening hours. Final answer: unknown."),
]

# The same failure without a coordinator: the researcher states the figure and gives the final answer.
VERIFIER_ACCEPTS_FLAT = [
    VERIFIER_ACCEPTS[0],
    VERIFIER_ACCEPTS[2],
    VERIFIER_ACCEPTS[4],
    ("researcher", "Final answer: the 2020 census population of Example Falls is 12,345. TERMINATE"),
]
