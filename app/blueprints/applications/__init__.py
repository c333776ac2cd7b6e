"""The applicant's pages, the declaration pages and the unit review pages of the chain, review paths and the blacklist (F1–F8, G1, B3–B7)."""
