"""评审会议: the committee staff's pages (meetings, draws, voting) and the experts' own side (expert_portal)."""
