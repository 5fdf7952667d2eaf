"""The automation layer: the roof of the house, the only layer that may import every area.

The zero-touch cycle (``cycle``, ``sweeps``, ``tasks``), automation policies (``policies``),
job runs (``jobs``), the operations page, the home dashboard and the demo firm. Areas never
import it: a job here decides per item by policy and calls the area's service for the item.
"""
