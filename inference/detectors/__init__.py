"""PulseNet and the detection pipeline: pure numpy + torch, no ORM.

series.py     samples -> a one-minute grid (the declared cadence), implausible values dropped
baseline.py   each wearer's personal normal per metric, hour of day and activity, learned online
rules.py      the safety rule floor (clinician thresholds), always on
features.py   baseline-normalised windows for the model, daily features for drift
pulsenet.py   the PyTorch model and its checkpoint
alarms.py     when a score becomes a detection (persistence, re-arming)
pipeline.py   one causal, streaming detector used by live inference and `pulsenet_detect` alike
synthetic.py  labelled synthetic physiology for training and evaluation
"""
