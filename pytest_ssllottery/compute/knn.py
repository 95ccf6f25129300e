"""The weighted k-NN protocol of DINO (Caron et al. 2021, ``eval_knn.py``), the second protocol beside linear probing.

Features are L2-normalised; each query's k most cosine-similar train images vote for their class with weight
exp(similarity / T); the class scores are the summed votes. Similarities are computed in chunks of queries
against chunks of the train set, keeping a running top-k, so a 50,000 x 1.28 M similarity matrix never
exists; the work runs on the probe's device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .probe_sgd import readonly_tensor

KNN_VERSION = 1
_EPS = 1e-12


def _normalised(rows: np.ndarray, device: torch.device) -> torch.Tensor:
    x = readonly_tensor(rows).to(device=device, dtype=torch.float32)
    normalised: torch.Tensor = x / x.norm(dim=1, keepdim=True).clamp_min(_EPS)
    return normalised


@dataclass
class KnnClassifier:
    """Weighted k-NN over a method's train features.

    Attributes:
        train: (N, D) train features (any float dtype; memory maps are read chunk by chunk).
        targets: (N,) train class ids.
        num_classes: Width of the score matrix.
        k: Neighbours that vote (DINO: 20).
        temperature: Vote weight exp(similarity / temperature) (DINO: 0.07).
        device: Where similarities are computed.
        query_chunk: Queries per chunk.
        train_chunk: Train rows per chunk.
    """

    train: np.ndarray
    targets: np.ndarray
    num_classes: int
    k: int = 20
    temperature: float = 0.07
    device: str = "cpu"
    query_chunk: int = 1024
    train_chunk: int = 65536
    _chunks: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list, repr=False)

    def _train_chunks(self, rows: np.ndarray | None) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Normalised train chunks with their class ids, on the device (all rows: built once and kept)."""
        if rows is None and self._chunks:
            return self._chunks
        device = torch.device(self.device)
        index = np.arange(len(self.targets)) if rows is None else rows
        chunks = [
            (
                _normalised(self.train[index[start : start + self.train_chunk]], device),
                torch.from_numpy(self.targets[index[start : start + self.train_chunk]].astype(np.int64)).to(device),
            )
            for start in range(0, len(index), self.train_chunk)
        ]
        if rows is None:
            self._chunks = chunks
        return chunks

    @torch.inference_mode()
    def logits(self, features: np.ndarray, classes: tuple[int, ...] | None = None) -> np.ndarray:
        """Summed neighbour votes per class, (Q, num_classes) float64.

        ``classes``: for a dataset that covers only those classes (ImageNet-R, -A), the neighbours are drawn
        from train images of those classes only, the k-NN counterpart of restricting a linear head's logits.
        """
        rows = None
        if classes is not None:
            rows = np.flatnonzero(np.isin(self.targets, np.asarray(classes)))
        chunks = self._train_chunks(rows)
        available = sum(len(labels) for _, labels in chunks)
        if available == 0:
            raise ValueError("k-NN: no train image of the dataset's classes to vote")
        k = min(self.k, available)
        device = torch.device(self.device)
        scores = np.zeros((len(features), self.num_classes), dtype=np.float64)
        for start in range(0, len(features), self.query_chunk):
            query = _normalised(features[start : start + self.query_chunk], device)
            best = torch.full((len(query), 0), -2.0, device=device)
            best_labels = torch.zeros((len(query), 0), dtype=torch.int64, device=device)
            for train, labels in chunks:
                # the chunk's own top k first: only (queries x 2k) values and labels are ever merged
                top, index = (query @ train.T).topk(min(k, len(labels)), dim=1)
                merged = torch.cat([best, top], dim=1)
                merged_labels = torch.cat([best_labels, labels[index]], dim=1)
                best, position = merged.topk(min(k, merged.shape[1]), dim=1)
                best_labels = merged_labels.gather(1, position)
            votes = torch.zeros((len(query), self.num_classes), dtype=torch.float32, device=device)
            votes.scatter_add_(1, best_labels, (best / self.temperature).exp())
            scores[start : start + len(query)] = votes.double().cpu().numpy()
        return scores
