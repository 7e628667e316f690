"""Ordinary agent traffic for training the injection model: benign texts shaped like what agents exchange.

Multi-agent systems pass each other plans, delegated tasks, status reports in JSON, tool results
(shell sessions, tracebacks, HTTP responses, search results, web pages) and final answers. None of it
is an attack, but it is full of imperatives addressed to an assistant ("please verify ...", "reply
only with ..."), which a model trained on user prompts alone mistakes for injected instructions.

The texts are assembled at random (seeded) from generic frames and from topic phrases taken out of
ordinary documentation on this machine (headings and sentences of the installed packages' READMEs and
of the pydoc topic help), so the subjects vary as much as real tasks do. No evaluation data is used.
"""

from __future__ import annotations

import json
import random
import re
import sysconfig
from importlib import metadata
from pathlib import Path

ROLES = ("Assistant", "Researcher", "Coder", "Planner", "Analyst", "Executor", "Browser", "Reviewer",
         "Critic", "Summarizer", "Orchestrator", "Data agent", "File agent", "Search agent", "Writer",
         "Verifier", "Engineer", "Manager", "Tester", "Scraper", "Expert", "Solver", "Librarian")
VERBS = ("search for", "look up", "verify", "check", "find", "confirm", "compute", "calculate", "summarize",
         "compare", "list", "extract", "download", "open", "read", "review", "translate", "identify",
         "locate", "fetch", "collect", "count", "estimate", "double-check", "cross-check", "report",
         "analyse", "inspect", "retrieve", "gather", "write", "draft", "update", "test", "run", "fix",
         "explain", "rewrite", "validate", "debug", "parse", "sort", "filter", "tabulate", "record")
PURPOSES = ("", " and report back", " and share the result", " so we can answer the question",
            " before we continue", " using reliable sources", " and cite the source", " from the official site",
            " and tell me what you find", " and note any discrepancies", ", then pass it to the next step",
            " and provide the exact figure", " and return only the final value", " in plain text",
            " without guessing", " using your own knowledge instead of a web search", " step by step")
OPENERS = ("Please ", "Next, ", "Now ", "Could you ", "Go ahead and ", "I need you to ", "Your task: ",
           "Kindly ", "Let's ", "Can you ", "", "", "Task: ", "Action: ", "Instruction: ")
STATUS_KEYS = ("is_request_satisfied", "is_complete", "is_done", "is_in_loop", "is_progress_being_made",
               "next_speaker", "next_agent", "instruction_or_question", "status", "progress", "blockers",
               "next_step", "confidence", "plan_update", "verification", "summary")
SITES = ("example.org", "docs.example.com", "en.wikipedia.org", "github.com", "stackoverflow.com",
         "archive.org", "data.gov", "news.example.net", "arxiv.org", "pypi.org", "www.bbc.co.uk",
         "www.nature.com", "maps.example.com", "shop.example.com", "blog.example.io")
COMMANDS = ("ls -la", "pip install -r requirements.txt", "python main.py", "pytest -q", "git status",
            "curl -s https://api.example.com/v1/items", "cat data.csv | head", "grep -rn TODO src/",
            "python -c 'import sys; print(sys.version)'", "npm run build", "df -h", "docker ps",
            "make test", "wc -l *.txt", "sh run.sh", "python scenario.py", "unzip archive.zip")
_HEADING = re.compile(r"^#{1,4}\s+(.{6,80})$", re.MULTILINE)
_QUESTION = re.compile(r"^(?:what|who|where|when|how|which|why)\s+(?:is|are|was|were|do|does|did|can|to)\s+"
                       r"(?:the\s+)?(.{8,90}?)\??$", re.IGNORECASE)
_SENTENCE = re.compile(r"[A-Z][^.!?\n`|<>*#\[\]]{25,180}[.!?]")


def _topics(rng: random.Random, limit: int = 6000) -> tuple[list[str], list[str]]:
    """Noun-ish phrases (headings) and plain sentences from local documentation."""
    headings: list[str] = []
    sentences: list[str] = []
    bodies: list[str] = []
    for dist in metadata.distributions():
        body = dist.metadata.get_payload() if hasattr(dist.metadata, "get_payload") else ""
        if isinstance(body, str) and body.strip():
            bodies.append(body)
        summary = dist.metadata.get("Summary")
        if summary and len(summary) > 12:
            headings.append(summary.strip().rstrip("."))
    topics = Path(sysconfig.get_paths()["stdlib"]) / "pydoc_data" / "topics.py"
    if topics.exists():
        namespace: dict = {}
        exec(compile(topics.read_text(encoding="utf-8"), str(topics), "exec"), namespace)
        bodies.extend(namespace.get("topics", {}).values())
    for body in bodies:
        headings.extend(h.strip() for h in _HEADING.findall(body))
        sentences.extend(s.strip() for s in _SENTENCE.findall(body))
    rng.shuffle(headings)
    rng.shuffle(sentences)
    return headings[:limit] or ["the data"], sentences[:limit] or ["The data was loaded."]


class AgentTraffic:
    """Seeded generator of benign multi-agent messages."""

    def __init__(self, seed: int = 0, questions: list[str] | tuple[str, ...] = ()) -> None:
        self.rng = random.Random(seed)
        self.headings, self.sentences = _topics(self.rng)
        # Subjects of ordinary (benign) questions make realistic task topics.
        self.headings += [m.group(1) for q in questions if (m := _QUESTION.match(q.strip()))]
        self.headings = [h for h in self.headings if not h[:1].isdigit()]

    def _topic(self) -> str:
        h = self.rng.choice(self.headings)
        return h[0].lower() + h[1:] if self.rng.random() < 0.5 else h

    def _sentence(self) -> str:
        return self.rng.choice(self.sentences)

    def _number(self) -> str:
        r = self.rng
        return r.choice((str(r.randint(1, 99)), str(r.randint(1900, 2025)), f"{r.uniform(0, 1000):.2f}",
                         f"{r.randint(1, 999):,}", f"{r.randint(1000, 99999):,}"))

    def delegation(self) -> str:
        r = self.rng
        verb = r.choice(VERBS)
        text = f"{r.choice(OPENERS)}{verb} {self._topic()}{r.choice(PURPOSES)}."
        if r.random() < 0.4:
            text = f"{r.choice(ROLES)}, {text[0].lower()}{text[1:]}"
        if r.random() < 0.4:
            text += f" {r.choice(OPENERS)}{r.choice(VERBS)} {self._topic()}{r.choice(PURPOSES)}."
        if r.random() < 0.2:
            text += r.choice((" Reply only with the answer.", " Answer in plain text, without punctuation.",
                              " If you cannot find it, say so.", " Do not make assumptions.",
                              " Reply with TERMINATE when done.", " Use the previous results as context.",
                              " Ignore the earlier draft; it had a typo.", " Stop after the first match."))
        return text

    def plan(self) -> str:
        r = self.rng
        head = r.choice(("Plan:", "Initial plan:", "New plan:", "Updated plan:", "Here is the plan:",
                         "We are working to address the following request:", "Steps:", "Fact sheet:"))
        lines = [head, ""]
        if r.random() < 0.5:
            lines += [self._sentence(), ""]
        for i in range(r.randint(2, 7)):
            bullet = r.choice((f"{i + 1}. ", "- ", "* "))
            step = f"{r.choice(VERBS).capitalize()} {self._topic()}{r.choice(PURPOSES)}."
            if r.random() < 0.3:
                step += f" {r.choice(ROLES)} handles this."
            lines.append(bullet + step)
        if r.random() < 0.4:
            lines += ["", r.choice(("Known facts:", "Facts to look up:", "Educated guesses:")), "- " + self._sentence()]
        return "\n".join(lines)

    def status(self) -> str:
        r = self.rng
        keys = r.sample(STATUS_KEYS, r.randint(2, 5))
        body: dict = {}
        for key in keys:
            answer: object = r.choice((True, False, r.choice(ROLES),
                                       f"{r.choice(VERBS).capitalize()} {self._topic()}{r.choice(PURPOSES)}."))
            body[key] = {"reason": self._sentence(), "answer": answer}
        text = json.dumps(body, indent=r.choice((None, 2, 4)))
        return r.choice(("", "Updated Ledger:\n", "Status:\n", "Progress report:\n", "```json\n")) + text

    def shell(self) -> str:
        r = self.rng
        cmd = r.choice(COMMANDS)
        out = [f"$ {cmd}"]
        for _ in range(r.randint(1, 8)):
            out.append(r.choice((
                f"-rw-r--r-- 1 user user {r.randint(10, 99999)} Mar {r.randint(1, 28)} 10:{r.randint(10, 59)} "
                f"{r.choice(('data', 'main', 'notes', 'report', 'utils'))}.{r.choice(('py', 'csv', 'txt', 'json'))}",
                f"Successfully installed {r.choice(self.headings)[:20].split(' ')[0].lower()}-{r.randint(0, 9)}."
                f"{r.randint(0, 20)}.{r.randint(0, 9)}",
                f"{r.randint(1, 60)} passed, {r.randint(0, 3)} failed in {r.uniform(0.1, 30):.2f}s",
                f"exitcode: {r.choice((0, 0, 1))} (execution {r.choice(('succeeded', 'failed'))})",
                f"Code output: {self._number()}",
                "Traceback (most recent call last):\n  File \"main.py\", line "
                f"{r.randint(1, 300)}, in <module>\n{r.choice(('KeyError', 'ValueError', 'TypeError'))}: "
                f"'{self._topic()[:30]}'",
                f"FINAL ANSWER: {self._number()}",
                f"{self._sentence()}",
            )))
        return "\n".join(out)

    def search_results(self) -> str:
        r = self.rng
        lines = [r.choice((f"I typed '{self._topic()}' into the search box.",
                           f"Search results for: {self._topic()}", "Here are the top results:",
                           f"I clicked '{self._topic()}'."))]
        for i in range(r.randint(2, 6)):
            site = r.choice(SITES)
            title = self._topic()
            slug = title[:12].replace(" ", "-")
            lines.append(r.choice((f"{i + 1}. [{title}](https://{site}/{slug})\n{self._sentence()}",
                                   f"{title}\nhttps://{site} > {title.split(' ')[0]}\n{self._sentence()}")))
        if r.random() < 0.5:
            lines.append(f"The viewport shows {r.randint(1, 100)}% of the webpage, and is positioned at the "
                         f"{r.choice(('top', 'bottom', 'middle'))} of the page.")
        return "\n\n".join(lines)

    def web_page(self) -> str:
        r = self.rng
        title = self._topic()
        paras = "".join(f"<p>{self._sentence()}</p>" for _ in range(r.randint(1, 5)))
        nav = "".join(f"<li><a href=\"/{w.lower()}\">{w}</a></li>" for w in r.sample(
            ("Home", "About", "Contact Us", "Products", "Blog", "Login", "Sign up", "Help", "Careers"), 4))
        return (f"<html><head><title>{title}</title></head><body><nav><ul>{nav}</ul></nav>"
                f"<h1>{title}</h1>{paras}</body></html>")

    def answer(self) -> str:
        r = self.rng
        return r.choice((
            f"The answer is {self._number()}. {self._sentence()}",
            f"Based on the results, {self._sentence()[0].lower()}{self._sentence()[1:]}",
            f"FINAL ANSWER: {self._number()}\nTERMINATE",
            f"I could not find {self._topic()}. {self._sentence()} Please try another source.",
            f"Thank you. {self._sentence()} Let me know if you need anything else.",
            f"There is no code in the last message for me to execute. {r.choice(ROLES)} should continue "
            "the conversation; reply with \"TERMINATE\" to end it.",
            f"```python\nimport pandas as pd\ndf = pd.read_csv('{self._topic()[:10].replace(' ', '_')}.csv')\n"
            f"print(df['{r.choice(('value', 'count', 'year', 'price'))}'].{r.choice(('sum', 'mean', 'max'))}())\n```",
        ))

    def terse(self) -> str:
        """A one-line message: an acknowledgement, a status line or a single line of tool output (agents
        exchange many; a model trained on prompts alone reads a short imperative-free line as odd)."""
        r = self.rng
        return r.choice((
            r.choice(("Done.", "OK.", "Acknowledged.", "Task complete.", "Request completed.", "All set.",
                      "No further action needed.", "Proceeding.", "Continue.", "Understood, working on it.",
                      "Finished.", "Nothing to report.", "No results found.", "Confirmed.", "Looks good.")),
            f"{r.choice(('Step', 'Task', 'Subtask', 'Check'))} {r.randint(1, 9)} "
            f"{r.choice(('done', 'complete', 'finished', 'failed', 'skipped', 'in progress'))}.",
            f"exitcode: {r.choice((0, 0, 1))} (execution {r.choice(('succeeded', 'failed'))})",
            f"Exit status {r.choice((0, 0, 1, 2))}",
            f"Code output: {r.choice(('', self._number(), self._topic()[:24]))}",
            f"{r.randint(1, 60)} passed, {r.randint(0, 3)} failed in {r.uniform(0.1, 30):.2f}s",
            f"FINAL ANSWER: {self._number()}",
            f"{r.choice(VERBS).capitalize()} {self._topic()}{r.choice(PURPOSES)}.",
            self._sentence(),
        ))

    def user_turn(self) -> str:
        """A short follow-up a person sends in a conversation: an acknowledgement, a complaint, a question
        that only makes sense after the previous answer, often in another language. Such turns depend on
        context the model does not see, which a model trained on self-contained prompts reads as odd."""
        r = self.rng
        topic = self._topic().split(" ")[0].lower()
        text = r.choice((
            r.choice(("ok", "okay", "thanks", "thank you!", "got it", "great, thanks", "perfect", "sure", "yes",
                      "no", "hmm", "cool", "nice", "that helped", "makes sense", "fine", "sounds good")),
            r.choice(("why?", "how?", "really?", "are you sure?", "and then?", "what next?", "which one?",
                      "is that right?", "can you explain?", "what does that mean?", "how long will it take?")),
            f"what about the {r.choice(('first', 'second', 'other', 'last', 'new', 'old'))} "
            f"{r.choice(('option', 'one', 'version', 'file', 'account', 'plan', 'step'))}?",
            f"{r.choice(('it', 'the ' + topic, 'my ' + topic, 'that'))} "
            f"{r.choice(('still does not work', 'is broken again', 'did not help', 'keeps failing', 'works now'))}"
            f"{r.choice(('.', '!', '', ' :('))}",
            f"I {r.choice(('cannot', 'can not', 'still cannot', 'could not'))} "
            f"{r.choice(('log in', 'find it', 'open the page', 'see the button', 'reach the menu', 'reset it'))}"
            f"{r.choice(('.', '!', '', ', please help'))}",
            f"{r.choice(('please', 'can you', 'could you'))} {r.choice(VERBS)} {self._topic()} "
            f"{r.choice(('again', 'instead', 'too', 'for me', 'now', ''))}".strip() + r.choice(("", "?", ".")),
            f"you {r.choice(('misunderstood me', 'already said that', 'got it wrong', 'skipped my question'))}"
            f"{r.choice(('.', '!', '...'))}",
            r.choice(("no funciona todavía", "sigue sin funcionar", "gracias, ya está", "¿y ahora qué?",
                      "ça ne marche toujours pas", "merci, c'est bon", "et ensuite ?", "es geht immer noch nicht",
                      "danke, passt", "und jetzt?", "non funziona ancora", "grazie mille", "ainda não funciona",
                      "obrigado", "まだ動きません", "谢谢", "還是不行")),
        ))
        return text.upper() if r.random() < 0.05 else (text.capitalize() if r.random() < 0.5 else text)

    def message(self) -> str:
        kind = self.rng.choices(
            (self.delegation, self.plan, self.status, self.shell, self.search_results, self.web_page, self.answer),
            weights=(4, 2, 2, 1, 1, 1, 2))[0]
        return kind()

    def sample(self, n: int) -> list[str]:
        return [self.message() for _ in range(n)]


__all__ = ["AgentTraffic"]
