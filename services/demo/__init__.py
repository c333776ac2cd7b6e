"""The demo organisation `make run` seeds: units, staff, a filed committee with experts, a published activity and
declarations in review, each created through the real services and flows.
"""
