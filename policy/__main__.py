"""The Picturesocial baseline policy pack. Only assembles the pack: the rules are in baseline/.

pulumi preview --policy-pack policy --policy-pack-config policy/config/<stack>.json
"""

from baseline import POLICIES
from pulumi_policy import PolicyPack

PolicyPack(name="picturesocial-baseline", policies=POLICIES)
