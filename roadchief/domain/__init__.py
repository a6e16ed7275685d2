"""Pure domain rules of roadchief, the 路长制 system of 青铜峡市.

Everything here implements 《青铜峡市农村公路管养“路长制”实施办法》
(青政办发〔2021〕28号) without touching Flask, SQLAlchemy or a database, so the
rules can be read against the policy and tested in milliseconds:

- ``stakes``   — 桩号 (K12+345) parsing, formatting and overlap checks;
- ``roads``    — road classes, codes, technical grades, surfaces and 路长 positions;
- ``lengths``  — measured length of a road geometry, deviation from 列养里程;
- ``money``    — exact yuan/fen arithmetic and fen-exact splitting;
- ``grades``   — 百分制 scores and the 优/良/一般 bands (第二十三条);
- ``funding``  — 养护经费 plan, quarterly payment, deductions and 以奖代补
  (第十五条, 第十七条, 第二十三条, 第二十四条).

Money is never a float: amounts are ``Decimal`` yuan or ``int`` fen.
"""
