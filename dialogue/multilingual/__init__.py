"""The callers' languages inside Rasa: text normalisation and word segmentation.

Runs in the Rasa server's own virtualenv (pythainlp, laonlp, jieba, opencc-python-reimplemented,
all offline). `tokenizer.MultilingualTokenizer` is the NLU pipeline's tokenizer
(dialogue/config.yml); `normalize` and `segment` do its two jobs and are tested alone, and
`lao_thai` spells its Lao tokens in Thai script.
"""
