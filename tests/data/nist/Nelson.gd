# NIST StRD Nelson (average difficulty): log[y] = b1 - b2*x1 * exp[-b3*x2] + e
# certified values, data and both starts: Nelson.json / Nelson.csv
param b1 = 2, b2 = 0.0001, b3 = -0.01    # NIST start 1
# NIST start 2: b1 = 2.5, b2 = 0.000000005, b3 = -0.05
data x1, x2, y
model f = b1 - b2*x1*exp(-b3*x2)
loss sum((f - log(y))^2)    # NIST fits log(y)
