"""For the tests of the Comprehend and hybrid engines: Comprehend's batch responses shaped as its
API reference documents them (for botocore's Stubber), and the plan that makes every call."""

from __future__ import annotations

from typing import Any

from chalicelib.nlp.comprehend import CallPlan


def always(text: str) -> bool:
    return True


# Every call for every document, as before issue 12: what the tests of the engine's mechanics
# (batching, limits, retries) run, whatever the cost-aware plan would leave out.
EVERY_CALL = CallPlan(entities=always, personal_data=always, targeted=always, key_phrases=True)


def scores(
    positive: float = 0.01, negative: float = 0.01, neutral: float = 0.97, mixed: float = 0.01
) -> dict[str, float]:
    return {"Positive": positive, "Negative": negative, "Neutral": neutral, "Mixed": mixed}


def sentiment_response(count: int, label: str = "NEGATIVE", errors: tuple[int, ...] = ()) -> dict[str, Any]:
    value = scores(negative=0.95, neutral=0.03, positive=0.01) if label == "NEGATIVE" else scores()
    return {
        "ResultList": [
            {"Index": i, "Sentiment": label, "SentimentScore": value} for i in range(count) if i not in errors
        ],
        "ErrorList": [
            {"Index": i, "ErrorCode": "INTERNAL_SERVER_ERROR", "ErrorMessage": "Internal error"} for i in errors
        ],
    }


def entities_response(count: int) -> dict[str, Any]:
    entity = {"Score": 0.98, "Type": "ORGANIZATION", "Text": "Lumina", "BeginOffset": 0, "EndOffset": 6}
    return {"ResultList": [{"Index": i, "Entities": [entity]} for i in range(count)], "ErrorList": []}


def key_phrases_response(count: int) -> dict[str, Any]:
    phrase = {"Score": 0.99, "Text": "the router", "BeginOffset": 7, "EndOffset": 17}
    return {"ResultList": [{"Index": i, "KeyPhrases": [phrase]} for i in range(count)], "ErrorList": []}


def targeted_response(count: int) -> dict[str, Any]:
    mention = {
        "Score": 0.99,
        "GroupScore": 1.0,
        "Text": "router",
        "Type": "OTHER",
        "MentionSentiment": {
            "Sentiment": "NEGATIVE",
            "SentimentScore": scores(negative=0.97, neutral=0.02, positive=0.0),
        },
        "BeginOffset": 11,
        "EndOffset": 17,
    }
    return {
        "ResultList": [
            {"Index": i, "Entities": [{"DescriptiveMentionIndex": [0], "Mentions": [mention]}]} for i in range(count)
        ],
        "ErrorList": [],
    }
