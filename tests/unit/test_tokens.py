"""Token counts use each model's own tokenizer offline, and say when they are approximations."""

from __future__ import annotations

import pytest

from mao.domain import tokens


def test_openai_models_use_their_exact_encodings() -> None:
    assert tokens.encoding_for("gpt-4o-mini") == ("o200k_base", False)
    assert tokens.encoding_for("gpt-4.1") == ("o200k_base", False)
    assert tokens.encoding_for("o3-mini") == ("o200k_base", False)
    assert tokens.encoding_for("gpt-4") == ("cl100k_base", False)
    assert tokens.encoding_for("gpt-3.5-turbo") == ("cl100k_base", False)
    assert tokens.encoding_for("openai/gpt-4o") == ("o200k_base", False)


def test_models_without_an_offline_tokenizer_are_marked_approximate() -> None:
    bedrock_claude = "us.anthropic.claude-3-5-sonnet-20240620-v1:0"
    for model in ("claude-3-5-sonnet", bedrock_claude, "gemini-2.0-flash", None):
        encoding, approximate = tokens.encoding_for(model)
        assert encoding == tokens.APPROXIMATE_ENCODING
        assert approximate is True


def test_counts_match_the_reference_bpe_ids() -> None:
    # "hello world" is two tokens in both OpenAI encodings.
    assert tokens.count_tokens("hello world", "gpt-4o").tokens == 2
    assert tokens.count_tokens("hello world", "gpt-4").tokens == 2
    assert tokens.count_tokens("", "gpt-4o").tokens == 0


def test_encodings_differ_where_the_vocabularies_differ() -> None:
    text = "Les modèles de langage découpent le texte en jetons: 東京は日本の首都です。"
    assert tokens.count_tokens(text, "gpt-4o").tokens != tokens.count_tokens(text, "gpt-4").tokens


def test_special_token_text_is_counted_as_ordinary_text() -> None:
    count = tokens.count_tokens("<|endoftext|> hi", "gpt-4o")
    assert count.tokens > 2  # not collapsed into one special token, and no exception


@pytest.mark.parametrize("words", [10, 1000])
def test_count_grows_with_text(words: int) -> None:
    assert tokens.count_tokens(" ".join(["word"] * words), "gpt-4o").tokens == pytest.approx(words, rel=0.05)
