"""Fit and measure sentiment head candidates; the choices themselves live in train_sentiment.py.

Every prediction here goes through ``copydesk.analyse.sentiment.SentimentHead``, the code the
analyser runs, so the figures training reports are the figures of what ships.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copydesk.analyse.sentiment import SentimentHead, aggregate

SEED = 20140601
GOLD_NEUTRAL = 0.5  # |mean rating| below this (on -4..4) counts as neutral
MLP = {"hidden": 128, "epochs": 40, "lr": 1e-3, "weight_decay": 1e-2, "dropout": 0.1}


@dataclass
class Part:
    """One training source: embeddings, targets in [-1, 1], VADER compound, review ids, val mask."""

    name: str
    x: np.ndarray
    y: np.ndarray
    vader: np.ndarray
    groups: list[str | None]
    val: np.ndarray


def fit_ridge(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, alpha: float) -> dict:
    """Weighted ridge in closed form; the intercept is not penalised."""
    mu, ym = (w[:, None] * x).sum(0) / w.sum(), (w * y).sum() / w.sum()
    xc = x - mu
    gram = (xc * w[:, None]).T @ xc + alpha * np.eye(x.shape[1])
    coef = np.linalg.solve(gram, (xc * w[:, None]).T @ (y - ym))
    return {"w": coef.astype(np.float32), "b": np.float32(ym - mu @ coef)}


def fit_mlp(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict:
    """One hidden GELU layer, weighted MSE, AdamW; seeded and single-threaded, so repeatable."""
    import torch

    torch.manual_seed(SEED)
    net = torch.nn.Sequential(
        torch.nn.Dropout(MLP["dropout"]),
        torch.nn.Linear(x.shape[1], MLP["hidden"]),
        torch.nn.GELU(approximate="tanh"),
        torch.nn.Linear(MLP["hidden"], 1),
    )
    opt = torch.optim.AdamW(net.parameters(), lr=MLP["lr"], weight_decay=MLP["weight_decay"])
    xt, yt = torch.tensor(x), torch.tensor(y, dtype=torch.float32)
    wt = torch.tensor(w / w.mean(), dtype=torch.float32)
    gen = torch.Generator().manual_seed(SEED)
    net.train()
    for _ in range(MLP["epochs"]):
        order = torch.randperm(len(yt), generator=gen)
        for i in range(0, len(order), 64):
            idx = order[i : i + 64]
            loss = (wt[idx] * (net(xt[idx]).squeeze(-1) - yt[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    first, last = net[1], net[3]
    return {
        "w1": first.weight.detach().numpy().T.astype(np.float32).copy(),
        "b1": first.bias.detach().numpy().astype(np.float32).copy(),
        "w2": last.weight.detach().numpy()[0].astype(np.float32).copy(),
        "b2": np.float32(last.bias.detach().numpy()[0]),
    }


def fit(cand: dict, parts: list[Part], lexicon: Part, *, split: bool) -> SentimentHead:
    """Fit a candidate on ``parts`` (their train split if ``split``) plus the weighted lexicon."""
    xs, ys, ws = [], [], []
    total = sum(int((~p.val).sum()) if split else len(p.y) for p in parts)
    for p in parts:
        keep = ~p.val if split else np.ones(len(p.y), bool)
        share = total / (len(parts) * keep.sum()) if cand["balance"] else 1.0
        xs.append(p.x[keep]), ys.append(p.y[keep]), ws.append(np.full(keep.sum(), share))
    if cand["lexicon"] > 0:
        xs.append(lexicon.x), ys.append(lexicon.y)
        ws.append(np.full(len(lexicon.y), cand["lexicon"]))
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    if cand["kind"] == "ridge":
        arrays = fit_ridge(x, y, w, alpha=cand["alpha"])
    else:
        arrays = fit_mlp(x, y, w)
    return SentimentHead(arrays=arrays, meta={})


def leave_one_out(cand: dict, parts: list[Part], lexicon: Part) -> dict[str, np.ndarray]:
    """Raw head output on each corpus from the candidate trained on the other corpora only."""
    out = {}
    for held in parts:
        head = fit(cand, [p for p in parts if p is not held], lexicon, split=False)
        out[held.name] = head.raw(held.x)
    return out


def fit_blend(head: list[np.ndarray], vader: list[np.ndarray], y: list[np.ndarray]) -> dict:
    """Least-squares weights for head + VADER + bias, each corpus weighing the same."""
    weights = np.concatenate([np.full(len(t), 1.0 / len(t)) for t in y])
    design = np.stack([np.concatenate(head), np.concatenate(vader), np.ones(len(weights))], 1)
    root = np.sqrt(weights)
    coef = np.linalg.lstsq(design * root[:, None], np.concatenate(y) * root, rcond=None)[0]
    return {
        "head": round(float(coef[0]), 6),
        "vader": round(float(coef[1]), 6),
        "bias": round(float(coef[2]), 6),
    }


def blend_transfer(loo: dict[str, np.ndarray], parts: list[Part]) -> dict[str, float]:
    """Pearson r on each corpus of a blend whose head *and* blend weights never saw it."""
    out = {}
    for held in parts:
        rest = [p for p in parts if p is not held]
        blend = fit_blend([loo[p.name] for p in rest], [p.vader for p in rest], [p.y for p in rest])
        head = SentimentHead(arrays={}, meta={"blend": blend})
        out[held.name] = round(pearson(head.combine(loo[held.name], held.vader), held.y), 4)
    return out


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def figures(pred: np.ndarray, y: np.ndarray) -> dict:
    """Pearson r and polarity accuracy on clearly rated texts (a 0 score counts as wrong)."""
    out = {"n": int(len(y)), "pearson": round(pearson(pred, y), 4)}
    for cut in (0.5, 1.0):
        clear = np.abs(y * 4) >= cut
        out[f"polarity_acc_{cut}"] = round(
            float(np.mean(np.sign(pred[clear]) == np.sign(y[clear]))), 4
        )
    return out


def macro_f1(pred_cls: np.ndarray, gold: np.ndarray) -> float:
    scores = []
    for c in (-1, 0, 1):
        tp = np.sum((pred_cls == c) & (gold == c))
        prec, rec = tp / max(np.sum(pred_cls == c), 1), tp / max(np.sum(gold == c), 1)
        scores.append(0.0 if tp == 0 else 2 * prec * rec / (prec + rec))
    return float(np.mean(scores))


def choose_aggregation(
    pred: np.ndarray, part: Part, texts: list[str], grid: list[tuple[float, float]]
) -> dict:
    """Pick sentence weights whose document score tracks whole reviews' mean human rating."""
    docs: dict[str | None, list[int]] = {}
    for i, g in enumerate(part.groups):
        docs.setdefault(g, []).append(i)
    truth = np.array([part.y[idx].mean() for idx in docs.values()])
    lengths = np.array([len(t) for t in texts])
    table = []
    for a, b in grid:
        doc = np.array(
            [
                aggregate(pred[idx], lengths=lengths[idx], length_power=a, polar_power=b)
                for idx in docs.values()
            ]
        )
        table.append((round(pearson(doc, truth), 4), a, b))
    best = max(table, key=lambda row: (row[0], -row[1] - row[2]))
    return {
        "length_power": best[1],
        "polar_power": best[2],
        "dev": f"{part.name} reviews",
        "dev_documents": len(docs),
        "dev_pearson": best[0],
        "table": [list(row) for row in table],
    }
