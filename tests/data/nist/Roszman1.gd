# NIST StRD Roszman1 (average difficulty): y = b1 - b2*x - arctan[b3/(x-b4)]/pi + e
# certified values, data and both starts: Roszman1.json / Roszman1.csv
param b1 = 0.1, b2 = -0.00001, b3 = 1000, b4 = -100    # NIST start 1
# NIST start 2: b1 = 0.2, b2 = -0.000005, b3 = 1200, b4 = -150
data x, y
model f = b1 - b2*x - atan(b3/(x - b4))/pi
loss sum((f - y)^2)
