# NIST StRD DanWood (lower difficulty): y = b1*x**b2 + e
# certified values, data and both starts: DanWood.json / DanWood.csv
param b1 = 1, b2 = 5    # NIST start 1
# NIST start 2: b1 = 0.7, b2 = 4
data x, y
model f = b1*x^b2
loss sum((f - y)^2)
